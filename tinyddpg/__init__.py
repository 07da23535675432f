"""tinyddpg: DDPG with hand-written layers, backward passes and Adam, on NumPy (CPU) or CuPy (CUDA)."""

from .agent import DDPG, DDPGConfig
from .backend import get_backend
from .buffer import Batch
from .errors import CheckpointError, ConfigError, NumericalError, TinyDDPGError
from .run.config import TrainConfig, preset
from .run.train import train

__version__ = "0.1.0"
__all__ = [
           "DDPG",
           "Batch",
           "CheckpointError",
           "ConfigError",
           "DDPGConfig",
           "NumericalError",
           "TinyDDPGError",
           "TrainConfig",
           "__version__",
           "action_gradient_report",
           "actor_loss_report",
           "agent_reports",
           "critic_loss_report",
           "get_backend",
           "preset",
           "train",
]

GRADIENT_REPORTS = ("action_gradient_report", "actor_loss_report", "agent_reports", "critic_loss_report")


def __getattr__(name: str):
    """The gradient reports load on first use: importing them with the package put tinyddpg.gradcheck in
    sys.modules before `python -m tinyddpg.gradcheck` ran it, and runpy warned about the double import."""
    if name in GRADIENT_REPORTS:
        from . import ddpg_gradcheck

        return getattr(ddpg_gradcheck, name)
    raise AttributeError(f"module 'tinyddpg' has no attribute {name!r}")
