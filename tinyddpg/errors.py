"""The package's own exceptions: each names what was wrong and how to fix it."""


class TinyDDPGError(Exception):
    """Base class: the CLI prints these as one clear line, without a traceback."""


class ConfigError(TinyDDPGError, ValueError):
    """A setting, an environment or a backend that cannot be used, found before any work starts."""


class CheckpointError(TinyDDPGError):
    """A checkpoint that is missing, damaged, foreign, newer than this code, or does not fit the run."""


class NumericalError(TinyDDPGError, FloatingPointError):
    """A NaN or infinity appeared in a loss, a gradient or an action."""
