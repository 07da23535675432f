"""tinyddpg: DDPG with hand-written layers, backward passes and Adam, on NumPy (CPU) or CuPy (CUDA)."""

from .agent import DDPG, DDPGConfig
from .backend import get_backend
from .errors import CheckpointError, ConfigError, NumericalError, TinyDDPGError
from .run.config import TrainConfig, preset
from .run.train import train

__version__ = "0.1.0"
__all__ = [
           "DDPG",
           "CheckpointError",
           "ConfigError",
           "DDPGConfig",
           "NumericalError",
           "TinyDDPGError",
           "TrainConfig",
           "__version__",
           "get_backend",
           "preset",
           "train",
]
