"""The agent's hyperparameters: DDPGConfig, each field with its documentation and the values it allows, and
validate(), which refuses any other value (DDPG() calls it, so a bad setting stops before any work)."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .noise import NOISE_CHOICES


def setting(default, help: str, allowed: str = "must be true or false", ok=lambda value: True):
    """A field with its help, what it allows (in words, for the error) and the test of an allowed value of its type."""
    return field(default=default, metadata={"help": help, "allowed": allowed, "ok": ok})


@dataclass
class DDPGConfig:
    """The agent's hyperparameters (defaults: the `pendulum` preset). Each field's help is its documentation."""

    hidden: tuple[int, ...] = setting((400, 300), "hidden layer widths of actor and critic, e.g. 400,300",
                                      "needs at least one layer, every width a positive integer, e.g. 400,300",
                                      lambda widths: len(widths) >= 1 and min(widths) >= 1)
    actor_lr: float = setting(1e-3, "Adam learning rate of the actor (> 0)", "must be > 0 (typical 1e-4 to 1e-3)",
                              lambda lr: lr > 0)
    critic_lr: float = setting(1e-3, "Adam learning rate of the critic (> 0)", "must be > 0 (typical 1e-4 to 1e-3)",
                               lambda lr: lr > 0)
    gamma: float = setting(0.99, "discount factor, in [0, 1]", "must be in [0, 1] (typical 0.99)", lambda g: 0 <= g <= 1)
    rho: float = setting(0.995, "Polyak factor, in [0, 1): target <- rho * target + (1 - rho) * online (the paper's "
                                "tau = 1 - rho)", "must be in [0, 1) (typical 0.995, i.e. tau = 0.005)",
                         lambda rho: 0 <= rho < 1)
    batch_size: int = setting(256, "transitions per update (<= buffer size)", "must be an integer >= 1",
                              lambda size: size >= 1)
    noise: str = setting("gaussian", "exploration noise: gaussian | ou | none",
                         f"choose one of {', '.join(NOISE_CHOICES)}", lambda kind: kind in NOISE_CHOICES)
    noise_scale: float = setting(0.1, "Gaussian std or OU sigma, in units of the action half-range (high - low) / 2 "
                                      "(>= 0)", "must be >= 0 (typical 0.1)", lambda scale: scale >= 0)
    ou_theta: float = setting(0.15, "OU mean-reversion rate (DDPG paper: 0.15)", "must be > 0 (typical 0.15)",
                              lambda theta: theta > 0)
    ou_dt: float = setting(1e-2, "OU time step (OpenAI Baselines' default; the paper gives none)",
                           "must be > 0 (typical 0.01)", lambda dt: dt > 0)
    final_init_bound: float = setting(3e-3, "final layers start uniform(-b, b) (DDPG paper: 3e-3); hidden layers as "
                                            "torch.nn.Linear", "must be > 0 (typical 3e-3)", lambda bound: bound > 0)
    normalize_obs: bool = setting(False, "standardise observations by their running mean and std (true | false)")
    twin_critics: bool = setting(False, "TD3: two critics, the TD target takes the smaller target value (true | false)")
    target_noise: float = setting(0.0, "TD3: std of the Gaussian noise on the target action, in action half-ranges "
                                       "(>= 0; TD3: 0.2)", "must be >= 0 (TD3: 0.2; 0 = off)", lambda std: std >= 0)
    target_noise_clip: float = setting(0.5, "TD3: the target noise is clipped to +-this, in action half-ranges "
                                            "(>= 0; TD3: 0.5)", "must be >= 0 (TD3: 0.5)", lambda clip: clip >= 0)
    policy_delay: int = setting(1, "TD3: actor step and Polyak updates every this many critic updates (>= 1; TD3: 2)",
                                "must be an integer >= 1 (TD3: 2; 1 = off)", lambda delay: delay >= 1)

    def validate(self) -> DDPGConfig:
        """Raise ConfigError naming the first field of the wrong type or out of range, its value and what it allows."""
        for f in dataclasses.fields(self):
            value, allowed = getattr(self, f.name), f.metadata["allowed"]
            if f.type == "float" and not has_type(value, f.type):  # inf, nan, a string: "must be a finite number, > 0"
                allowed = "must be a finite number, " + allowed.removeprefix("must be ")
            if not (has_type(value, f.type) and f.metadata["ok"](value)):
                raise ConfigError(f"{f.name}={value!r} is not allowed: {allowed}")
        return self


def has_type(value, kind: str) -> bool:
    """Whether value is of the field type `kind` (as written in the class): floats finite, no bool for a number."""
    if kind == "tuple[int, ...]":
        return isinstance(value, (tuple, list)) and all(has_type(width, "int") for width in value)
    if isinstance(value, (bool, np.bool_)):
        return kind == "bool"
    types = {"float": numbers.Real, "int": numbers.Integral, "str": str, "bool": bool}
    return isinstance(value, types[kind]) and (kind != "float" or math.isfinite(value))
