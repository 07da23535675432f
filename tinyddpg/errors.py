"""The package's own exceptions: each names what was wrong and how to fix it, in the caller's language."""

import contextlib
import contextvars
import shlex


class TinyDDPGError(Exception):
    """Base class: the CLI prints these as one clear line, without a traceback."""


class ConfigError(TinyDDPGError, ValueError):
    """A setting, an environment or a backend that cannot be used, found before any work starts."""


class CheckpointError(TinyDDPGError):
    """A checkpoint that is missing, damaged, foreign, newer than this code, or does not fit the run."""


class NumericalError(TinyDDPGError, FloatingPointError):
    """A NaN or infinity appeared in a loss, a gradient or an action."""


# --- the next step, in the caller's language ------------------------------------------------------------------
# A command-line user is told the options and commands to type (--buffer-size 5000, tinyddpg train --resume DIR),
# a Python caller the arguments to pass (buffer_size=5000, train(config, DIR, resume=True)). Paths in a command are
# shell-quoted, so the command works when pasted, spaces and all.
_speaking_command_line = contextvars.ContextVar("speaking_command_line", default=False)


@contextlib.contextmanager
def command_line_language():
    """Inside: messages name options and commands (the command line and the examples run in it)."""
    token = _speaking_command_line.set(True)
    try:
        yield
    finally:
        _speaking_command_line.reset(token)


def on_command_line() -> bool:
    return _speaking_command_line.get()


def setting_text(name: str, value=None) -> str:
    """A setting as the caller writes it: "--batch-size 64" or "batch_size=64" (without a value: "--batch-size" or
    "batch_size")."""
    if not on_command_line():
        return name if value is None else f"{name}={value!r}"
    option = "--" + name.replace("_", "-")
    if value is None:
        return option
    return f"{option} {shlex.quote(option_value_text(value))}"


def option_value_text(value) -> str:
    """A value as an option takes it: "400,300", "0.001", "true"."""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_text(*settings: tuple[str, object]) -> str:
    """Several (name, value) settings: "--td3 false --policy-delay 2" or "td3=False, policy_delay=2"."""
    return (" " if on_command_line() else ", ").join(setting_text(name, value) for name, value in settings)


def resume_text(folder, steps: int | None = None) -> str:
    """How to continue the run in folder (to `steps` in all, if given): a command, or the Python call."""
    if on_command_line():
        return shlex.join(["tinyddpg", "train", "--resume", str(folder), *(["--steps", str(steps)] if steps else [])])
    config = "config" if steps is None else f"with_overrides(config, {{'steps': {steps}}})"
    return f"train({config}, {str(folder)!r}, resume=True)"


def another_folder_text() -> str:
    return "another folder with --out" if on_command_line() else "another out_dir"
