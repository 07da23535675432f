"""Run configuration: typed dataclasses, the classic presets, overrides by field name, and validation that
refuses bad input before any work starts."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import math
from dataclasses import dataclass, field

from ..agent import DDPGConfig
from ..backend import BACKEND_CHOICES, DTYPE_CHOICES
from ..errors import ConfigError, option_value_text, setting_text, settings_text
from ..hyperparameters import has_type
from .tensorboard import INSTALL_HINT as TENSORBOARD_INSTALL_HINT


@dataclass
class TrainConfig:
    """Everything a training run needs besides the agent's hyperparameters (which sit in `agent`)."""

    env_id: str = field(default="Pendulum-v1", metadata={
        "help": "gymnasium environment id (flat Box observations, bounded Box actions); your own as module:EnvId, "
                "where importing module registers EnvId (module on PYTHONPATH)"})
    steps: int = field(default=30_000, metadata={"help": "environment steps in total (>= 0)"})
    seed: int = field(default=0, metadata={"help": "run seed: weights, batches, noise and episode resets derive from it"})
    backend: str = field(default="numpy", metadata={"help": "array backend: numpy | cupy | auto"})
    dtype: str = field(default="float32", metadata={"help": "float32 | float64"})
    buffer_size: int = field(default=1_000_000, metadata={"help": "replay buffer capacity in transitions"})
    random_steps: int = field(default=5_000, metadata={"help": "uniform random actions for this many first steps"})
    update_after: int = field(default=1_000, metadata={"help": "one update per step from this step on"})
    eval_every: int = field(default=1_000, metadata={"help": "evaluate (noise off) every this many steps"})
    eval_episodes: int = field(default=10, metadata={"help": "episodes per evaluation"})
    checkpoint_every: int = field(default=5_000, metadata={
        "help": "checkpoint at the first episode end after every this many steps"})
    save_buffer: bool = field(default=True, metadata={
        "help": "keep the replay buffer in checkpoints (needed for an exact resume)"})
    td3: bool = field(default=False, metadata={
        "help": "TD3 mode (Fujimoto et al. 2018): sets twin_critics=true, target_noise=0.2, target_noise_clip=0.5, "
                "policy_delay=2; false sets them back to DDPG's (true | false)"})
    tensorboard: bool = field(default=False, metadata={
        "help": "also write the log's scalars as TensorBoard events in the run folder (needs tensorboardX); "
                "view with: tensorboard --logdir DIR"})
    agent: DDPGConfig = field(default_factory=DDPGConfig)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """The config saved by to_json. Settings moved since (normalize_obs, once a loop setting, now belongs to
        the agent) are moved back; a setting this version does not know is a ConfigError, not a crash."""
        data = json.loads(text)
        agent = data.pop("agent")
        if "normalize_obs" in data:
            agent["normalize_obs"] = data.pop("normalize_obs")
        known = field_names()
        unknown = [name for name in [*data, *agent] if name not in known]
        if unknown:
            raise ConfigError(f"saved config has settings this tinyddpg does not know: {', '.join(unknown)}")
        return cls(**data, agent=DDPGConfig(**{**agent, "hidden": tuple(agent["hidden"])}))


# TD3's three fixes at the paper's values (Fujimoto et al. 2018, section 6.1), and the same settings off (= DDPG)
TD3_SETTINGS = {"twin_critics": True, "target_noise": 0.2, "target_noise_clip": 0.5, "policy_delay": 2}
DDPG_SETTINGS = {name: getattr(DDPGConfig(), name) for name in TD3_SETTINGS}

PRESETS = {
    # The classic Pendulum-v1 setup: the DDPG paper's 400-300 networks (Lillicrap et al. 2016), Adam 1e-3 for
    # both, gamma 0.99, rho 0.995, batch 256, Gaussian std 0.2 in [-2, 2] (0.1 of the half-range), 5,000 random
    # steps, updates from 1,000, 10 noise-free evaluation episodes every 1,000 steps, 30,000 steps.
    "pendulum": TrainConfig(),
    # HalfCheetah-v5 as OpenAI Spinning Up's DDPG (256-256, Adam 1e-3, batch 100, Gaussian 0.1, 10,000 random
    # steps, updates from 1,000; about 4.3k return at 100k steps, read off its HalfCheetah-v3 benchmark plot (3M
    # steps), not v5). Spinning Up runs 50 updates every 50 steps; we run one per step, the same ratio.
    # Evaluated every 5,000 steps.
    "halfcheetah": TrainConfig(
        env_id="HalfCheetah-v5", steps=100_000, random_steps=10_000, eval_every=5_000, checkpoint_every=10_000,
        agent=DDPGConfig(hidden=(256, 256), batch_size=100)),
    # Hopper-v5 and Walker2d-v5 as the TD3 paper's experiments (Fujimoto et al. 2018, section 6.1, for TD3 and
    # its "our DDPG"): 400-300 networks, Adam 1e-3 for both, batch 100, tau 0.005, Gaussian exploration 0.1,
    # 1,000 uniform random steps (the paper's choice for these two), 10 noise-free evaluation episodes every 5,000
    # steps. The paper trains 1M steps; these presets stop at 300k. Both robots fall: terminated=True ends it.
    "hopper": TrainConfig(
        env_id="Hopper-v5", steps=300_000, random_steps=1_000, eval_every=5_000, checkpoint_every=10_000,
        agent=DDPGConfig(batch_size=100)),
    "walker2d": TrainConfig(
        env_id="Walker2d-v5", steps=300_000, random_steps=1_000, eval_every=5_000, checkpoint_every=10_000,
        agent=DDPGConfig(batch_size=100)),
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError(f"preset={name!r} is unknown{did_you_mean(name, PRESETS)}; choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], agent=dataclasses.replace(PRESETS[name].agent))


def field_names() -> dict[str, str]:
    """Every settable field: name -> "train" or "agent"."""
    names = {f.name: "train" for f in dataclasses.fields(TrainConfig) if f.name != "agent"}
    names.update({f.name: "agent" for f in dataclasses.fields(DDPGConfig)})
    return names


def with_overrides(config: TrainConfig, overrides: dict[str, object]) -> TrainConfig:
    """A copy of config with fields replaced by name (train or agent fields alike)."""
    where = field_names()
    unknown = [name for name in overrides if name not in where]
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}{did_you_mean(unknown[0], where)}; settings are: {', '.join(where)}")
    train = {k: v for k, v in overrides.items() if where[k] == "train"}
    agent = {k: v for k, v in overrides.items() if where[k] == "agent"}
    if "td3" in overrides:  # the switch sets its three fixes; validate() refuses a fix changed beside it
        agent = {**(TD3_SETTINGS if overrides["td3"] else DDPG_SETTINGS), **agent}
    return dataclasses.replace(config, **train, agent=dataclasses.replace(config.agent, **agent))


KIND_TEXT = {"bool": "true or false", "int": "an integer", "float": "a finite number",
             "tuple[int, ...]": "comma-separated integers", "str": "a string"}


def parse_value(name: str, text: str):
    """A setting's value from text, typed like the field: "400,300" for hidden, "true" for booleans."""
    kind = _field_types()[name]
    try:
        if kind == "tuple[int, ...]":
            parts = text.split(",") if text.strip() else []
            return tuple(int(part) for part in parts)  # "64,,64" is refused: int("") fails
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        value = {"int": int, "float": float, "str": str}[kind](text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a valid {kind}: give {KIND_TEXT[kind]}, e.g. "
                          f"{option_example(name)}") from None
    if kind == "float" and not math.isfinite(value):
        raise ConfigError(f"{name}={text!r} is not allowed: must be a finite number, e.g. "
                          f"{option_example(name)}")
    return value


def default_value(name: str):
    """The pendulum preset's value of a setting."""
    defaults = PRESETS["pendulum"]
    return getattr(defaults, name) if hasattr(defaults, name) else getattr(defaults.agent, name)


def default_text(name: str) -> str:
    """The pendulum preset's value of a setting as it is typed: "400,300", "0.001", "true"."""
    return option_value_text(default_value(name))


def option_example(name: str) -> str:
    """A working setting, as the caller writes it: "--actor-lr 0.001" on the command line, "actor_lr=0.001" in
    Python."""
    return setting_text(name, default_value(name))


def _field_types() -> dict[str, str]:
    fields = [f for f in dataclasses.fields(TrainConfig) if f.name != "agent"] + list(dataclasses.fields(DDPGConfig))
    return {f.name: str(f.type) for f in fields}


def field_help(name: str) -> str:
    fields = {f.name: f for f in list(dataclasses.fields(TrainConfig)) + list(dataclasses.fields(DDPGConfig))}
    return fields[name].metadata.get("help", "")


def did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def how_to_register(env_class: type) -> str:
    """How to make an environment class a "module:EnvId" id, which a resume, evaluate or plot can make again."""
    module = "my_env" if env_class.__module__ == "__main__" else env_class.__module__
    move = f"move it to {module}.py and " if env_class.__module__ == "__main__" else ""
    env_id = f"{env_class.__name__}-v0"
    return (f"{move}register it at the end of {module.split('.')[-1]}.py with gymnasium.register(id={env_id!r}, "
            f"entry_point='{module}:{env_class.__qualname__}', max_episode_steps=200), then give env_id "
            f"'{module}:{env_id}'")


def validate(config: TrainConfig) -> None:
    """Raise ConfigError naming the field, the value and the allowed range, for the first bad setting."""
    agent = config.agent

    def require(ok: bool, name: str, value, allowed: str) -> None:
        if not ok:
            raise ConfigError(f"{name}={value!r} is not allowed: {allowed}")

    if not isinstance(config.env_id, str):  # an environment object or class: a run needs an id to make it again
        env_class = config.env_id if isinstance(config.env_id, type) else type(config.env_id)
        raise ConfigError(f"env_id={config.env_id!r} is not allowed: must be an id, which a resume and an evaluation "
                          f"can make again; {how_to_register(env_class)}")
    for settings in (config, agent):  # every value of its field's type first, so the ranges compare numbers
        for f in dataclasses.fields(settings):
            if f.name != "agent" and not has_type(getattr(settings, f.name), f.type):
                require(False, f.name, getattr(settings, f.name), f"must be {KIND_TEXT[f.type]}, e.g. "
                                                                  f"{option_example(f.name)}")

    require(config.steps >= 0, "steps", config.steps, f"must be an integer >= 0, e.g. {option_example('steps')}")
    require(config.seed >= 0, "seed", config.seed,
            f"must be an integer >= 0 (NumPy seeds its generators with those), e.g. {option_example('seed')}")
    require(config.buffer_size >= 1, "buffer_size", config.buffer_size, "must be >= 1")
    require(agent.batch_size <= config.buffer_size, "batch_size", agent.batch_size,
            f"must be <= buffer_size ({config.buffer_size}); raise {setting_text('buffer_size')} or lower "
            f"{setting_text('batch_size')}")
    require(config.random_steps >= 0, "random_steps", config.random_steps, "must be >= 0")
    require(config.update_after >= 0, "update_after", config.update_after, "must be >= 0")
    require(config.eval_every >= 1, "eval_every", config.eval_every, "must be >= 1")
    require(config.eval_episodes >= 1, "eval_episodes", config.eval_episodes, "must be >= 1")
    require(config.checkpoint_every >= 1, "checkpoint_every", config.checkpoint_every, "must be >= 1")
    require(config.backend in BACKEND_CHOICES, "backend", config.backend, f"choose one of {', '.join(BACKEND_CHOICES)}")
    require(config.dtype in DTYPE_CHOICES, "dtype", config.dtype, f"choose one of {', '.join(DTYPE_CHOICES)}")
    require(not config.tensorboard or importlib.util.find_spec("tensorboardX") is not None, "tensorboard",
            config.tensorboard, f"needs tensorboardX, which is not installed: {TENSORBOARD_INSTALL_HINT}")
    agent.validate()
    for name, value in TD3_SETTINGS.items():
        require(not config.td3 or getattr(agent, name) == value, name, getattr(agent, name),
                f"td3=true sets {name}={value}; to change one fix, use td3=false and set the fixes one by one, "
                f"e.g. {settings_text(('td3', False), ('twin_critics', True), ('policy_delay', 2))}")
