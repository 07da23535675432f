"""What a student finds with help(): the public names importable from `tinyddpg`, documented."""

import inspect
import re

import tinyddpg


def test_the_public_names_are_importable_from_the_package():
    for name in ("DDPG", "DDPGConfig", "Batch", "critic_loss_report", "actor_loss_report", "action_gradient_report",
                 "agent_reports", "train", "preset", "__version__"):
        assert name in tinyddpg.__all__ and hasattr(tinyddpg, name), name


def test_ddpg_documents_every_constructor_argument():
    """Each argument opens a line of the class docstring's argument list ("low, high   action bounds ...")."""
    lines = (inspect.getdoc(tinyddpg.DDPG) or "").splitlines()
    for argument in inspect.signature(tinyddpg.DDPG).parameters:
        assert any(re.match(rf"(\w+, )*{argument}\b", line) for line in lines), f"DDPG's docstring lacks {argument!r}"
