"""tinyddpg: DDPG with hand-written layers, backward passes and Adam, on NumPy (CPU) or CuPy (CUDA)."""

from .agent import DDPG, DDPGConfig
from .backend import get_backend
from .buffer import Batch
from .ddpg_gradcheck import action_gradient_report, actor_loss_report, agent_reports, critic_loss_report
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
