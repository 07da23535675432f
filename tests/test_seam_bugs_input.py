"""Inputs a new user gave that ended in a traceback, were accepted silently, or got a message that misled (issue 18,
part 2), each driven as the user did it: the CLI and the examples in a subprocess, the Python API in process."""

import dataclasses
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import fast_config, run_tinyddpg

from tinyddpg import DDPG, Batch, DDPGConfig
from tinyddpg.backend import get_backend
from tinyddpg.buffer import ReplayBuffer
from tinyddpg.errors import ConfigError, NumericalError
from tinyddpg.run.config import TrainConfig, with_overrides
from tinyddpg.run.memory import estimate
from tinyddpg.run.train import train

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TINY = ["--hidden", "16", "--batch-size", "16", "--random-steps", "50", "--update-after", "40", "--eval-every", "70",
        "--eval-episodes", "1", "--buffer-size", "500", "--checkpoint-every", "70", "--quiet", "--threads", "1"]


def assert_one_line_refusal(result, message):
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2, result.stderr  # usage+1


# --- tracebacks: the examples' arguments ----------------------------------------------------------------------
@pytest.mark.parametrize("example, args, message", [
    ("pendulum.py", ["--steps", "-1"], "pendulum.py: error: steps=-1 is not allowed: must be an integer >= 0, e.g. "
                                       "--steps 30000"),
    ("pendulum.py", ["--seed", "-1"], "pendulum.py: error: seed=-1 is not allowed: must be an integer >= 0"),
    ("halfcheetah.py", ["--steps", "-1"], "halfcheetah.py: error: steps=-1 is not allowed: must be an integer >= 0"),
    ("halfcheetah.py", ["--seed", "-3"], "halfcheetah.py: error: seed=-3 is not allowed: must be an integer >= 0"),
], ids=["pendulum.py --steps -1", "pendulum.py --seed -1", "halfcheetah.py --steps -1", "halfcheetah.py --seed -3"])
def test_the_examples_refuse_a_bad_argument_in_one_line(tmp_path, example, args, message):
    result = subprocess.run([sys.executable, str(EXAMPLES / example), *args, "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert_one_line_refusal(result, message)
    assert not (tmp_path / "run").exists()


def test_an_example_given_a_file_as_its_folder_says_so_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n")
    result = subprocess.run([sys.executable, str(EXAMPLES / "pendulum.py"), "--steps", "10", "--out",
                             str(tmp_path / "notes.txt")], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert_one_line_refusal(result, "notes.txt is a file, not a folder; choose another folder with --out")
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


# --- accepted silently: the engine's own inputs, in Python ----------------------------------------------------
BAD_AGENT_SETTINGS = {  # one value out of range (or of the wrong type) per DDPGConfig field, and what is said
    "hidden": ((64, 0), "needs at least one layer, every width a positive integer"),
    "actor_lr": (0.0, "must be > 0"), "critic_lr": (-1e-3, "must be > 0"),
    "gamma": (2.0, "must be in [0, 1]"), "rho": (1.0, "must be in [0, 1)"),
    "batch_size": (32.0, "must be an integer >= 1"),
    "noise": ("pink", "choose one of gaussian, ou, none"), "noise_scale": (-0.1, "must be >= 0"),
    "ou_theta": (0.0, "must be > 0"), "ou_dt": (float("nan"), "must be a finite number, > 0"),
    "final_init_bound": (0.0, "must be > 0"), "normalize_obs": ("yes", "must be true or false"),
    "twin_critics": (1, "must be true or false"), "target_noise": (-0.2, "must be >= 0"),
    "target_noise_clip": (float("inf"), "must be a finite number, >= 0"), "policy_delay": (0, "must be an integer >= 1"),
}


def test_every_agent_setting_has_a_bad_value_here():
    assert set(BAD_AGENT_SETTINGS) == {f.name for f in dataclasses.fields(DDPGConfig)}


@pytest.mark.parametrize("name", list(BAD_AGENT_SETTINGS))
def test_ddpg_refuses_a_setting_out_of_its_range(name):
    value, message = BAD_AGENT_SETTINGS[name]
    with pytest.raises(ConfigError, match=rf"^{name}=.* is not allowed: {re.escape(message)}"):
        DDPG(3, 1, [-2.0], [2.0], DDPGConfig(**{name: value}))


def test_a_setting_changed_after_the_config_was_made_is_refused_too():
    config = DDPGConfig()
    config.gamma = 1.5
    with pytest.raises(ConfigError, match=r"gamma=1.5 is not allowed: must be in \[0, 1\]"):
        DDPG(3, 1, [-2.0], [2.0], config)


@pytest.mark.parametrize("low, high", [([1.0, -1.0], [-1.0, 1.0]), ([-1.0], [1.0]), ([-1.0, -1.0], [1.0, np.inf]),
                                       ([-1.0, 0.5], [1.0, 0.5])],
                         ids=["low above high", "one bound for two dimensions", "infinite bound", "low equals high"])
def test_ddpg_refuses_action_bounds_that_do_not_fit(low, high):
    with pytest.raises(ConfigError, match=r"is not allowed: obs_dim and action_dim must be >= 1, low and high 2 finite "
                                          r"numbers each, low < high in every dimension"):
        DDPG(3, 2, low, high, DDPGConfig(hidden=(8,)))


def test_one_bound_for_all_dimensions_is_taken_for_each_as_gymnasiums_box_does():
    agent = DDPG(3, 2, -2.0, 3.0, DDPGConfig(hidden=(8,)))
    np.testing.assert_array_equal(agent.low, [-2.0, -2.0])
    np.testing.assert_array_equal(agent.high, [3.0, 3.0])


def batch_of(backend, size, obs_dim, action_dim, **nonfinite):
    arrays = {"obs": np.zeros((size, obs_dim)), "action": np.zeros((size, action_dim)), "reward": np.ones(size),
              "next_obs": np.zeros((size, obs_dim)), "terminated": np.zeros(size)}
    for name, value in nonfinite.items():
        arrays[name].flat[1] = value
    return Batch(**{name: backend.to_device(array) for name, array in arrays.items()})


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # NumPy's, on the way to the loss
@pytest.mark.parametrize("part, value", [("reward", np.nan), ("reward", np.inf), ("obs", np.nan),
                                         ("action", -np.inf), ("next_obs", np.nan), ("terminated", np.nan)])
def test_an_update_on_a_batch_with_nan_or_infinity_is_refused_and_changes_no_weight(backend32, part, value):
    agent = DDPG(3, 2, [-2.0, 0.0], [1.0, 3.0], DDPGConfig(hidden=(8,), batch_size=4, normalize_obs=True),
                 backend=backend32)
    before = {key: array.copy() for key, array in agent.state_dict().items()}
    with pytest.raises(NumericalError, match=rf"the critic loss is (nan|inf); this update changed no weight: the "
                                             rf"batch's {part} holds NaN or infinity"):
        agent.update(batch_of(agent.backend, 4, 3, 2, **{part: value}))
    after = agent.state_dict()
    assert all(np.array_equal(before[key], after[key], equal_nan=True) for key in before)


def test_the_buffer_refuses_a_transition_with_nan_and_stores_nothing():
    buffer = ReplayBuffer(10, 3, 1, backend=get_backend("numpy"), rng=np.random.default_rng(0))
    with pytest.raises(NumericalError, match=r"a transition with NaN or infinity is not stored \(.*reward nan"):
        buffer.add(np.zeros(3), np.zeros(1), float("nan"), np.zeros(3), False)
    assert len(buffer) == 0 and buffer.next_index == 0


# --- accepted silently: --threads above the cores -------------------------------------------------------------
def test_more_threads_than_cores_are_accepted_with_what_they_cost(tmp_path):
    cores = os.cpu_count()
    result = run_tinyddpg("train", "--steps", "0", "--out", str(tmp_path / "run"), *TINY[:-2], "--threads",
                          str(cores + 1))
    assert result.returncode == 0, result.stderr
    start = next(line for line in result.stderr.splitlines() if line.startswith("training "))
    assert (f"WARNING: {cores + 1} threads on {cores} cores, the extra ones wait for a core and slow every update, up "
            f"to 300x beside other work; --threads {cores} or fewer is faster") in start


# --- messages that mislead ------------------------------------------------------------------------------------
def test_the_memory_estimate_counts_the_whole_buffer_that_is_allocated():
    config = with_overrides(fast_config(), {"buffer_size": 2**30, "steps": 1000, "save_buffer": True})
    row_bytes = (2 * 5 + 2 + 2) * 4  # float32 rows of (obs 5, action 2): obs, action, reward, next_obs, terminated
    assert estimate(config, 5, 2).buffer == (2**30 + 1000) * row_bytes  # the ring, and the checkpoint's 1,000 rows
    assert estimate(with_overrides(config, {"save_buffer": False}), 5, 2).buffer == 2**30 * row_bytes


def test_a_buffer_far_larger_than_the_steps_is_refused_with_its_real_size(tmp_path):
    # 2**35 rows of Pendulum's 9 float32 numbers: 1,152 GiB are requested at the start, whatever --steps says
    result = run_tinyddpg("train", "--buffer-size", str(2**35), "--steps", "0", "--out", str(tmp_path / "run"))
    assert_one_line_refusal(result, "(replay buffer 1,152.0 GiB, ")
    assert "lower --buffer-size (the largest part)" in result.stderr and not (tmp_path / "run").exists()


def test_the_suggested_resume_command_works_for_a_folder_with_a_space(tmp_path):
    out = tmp_path / "my runs" / "first try"
    assert run_tinyddpg("train", "--steps", "60", "--out", str(out), *TINY).returncode == 0
    again = run_tinyddpg("train", "--steps", "60", "--out", str(out), *TINY)
    assert_one_line_refusal(again, "already holds a run; continue it with `tinyddpg train --resume ")
    command = shlex.split(again.stderr.split("`")[1])
    assert command[:3] == ["tinyddpg", "train", "--resume"] and command[3] == str(out)
    resumed = run_tinyddpg(*command[1:], "--steps", "80", "--quiet")  # as pasted, with one more setting
    assert resumed.returncode == 0, resumed.stderr


def test_the_suggested_mkdir_makes_the_folder_with_a_space_and_the_gif_path_is_then_accepted(tmp_path):
    result = run_tinyddpg("evaluate", "no-run", "--gif", "new dir/swing.gif", cwd=tmp_path)
    assert_one_line_refusal(result, "the folder new dir does not exist; create it first (mkdir -p 'new dir')")
    mkdir = result.stderr.split("(mkdir -p ")[1].split(")")[0]
    subprocess.run(f"mkdir -p {mkdir}", shell=True, check=True, cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["new dir"]
    accepted = run_tinyddpg("evaluate", "no-run", "--gif", "new dir/swing.gif", cwd=tmp_path)
    assert "--gif" not in accepted.stderr and "no-run does not exist" in accepted.stderr  # the gif path passed


def test_a_gif_under_a_file_says_the_file_is_not_a_folder_instead_of_mkdir(tmp_path):
    (tmp_path / "curve.png").write_bytes(b"png")
    result = run_tinyddpg("evaluate", "no-run", "--gif", "curve.png/swing.gif", cwd=tmp_path)
    assert_one_line_refusal(result, "argument --gif: 'curve.png/swing.gif': curve.png is a file, not a folder; write "
                                    "to a folder, e.g. --gif swing.gif")
    assert "mkdir" not in result.stderr


def test_errors_raised_in_python_name_the_python_arguments(tmp_path):
    from tinyddpg.run.cli import main

    out = tmp_path / "my run"
    train(fast_config(steps=0), out, show_progress=False)
    assert main(["train", "--steps", "0", "--out", str(out), "--quiet"]) == 2  # the CLI speaks options meanwhile ...
    with pytest.raises(ConfigError) as refused:  # ... and Python its arguments afterwards
        train(fast_config(steps=0), out, show_progress=False)
    assert str(refused.value) == (f"{out} already holds a run; continue it with `train(config, {str(out)!r}, "
                                  f"resume=True)` or choose another out_dir")
    train(fast_config(steps=0), out, resume=True, show_progress=False)  # the suggested call works
    with pytest.raises(ConfigError, match=r"must be <= buffer_size \(100\); raise buffer_size or lower batch_size$"):
        train(fast_config(buffer_size=100, batch_size=256), tmp_path / "b", show_progress=False)
    with pytest.raises(ConfigError, match=r"td3=true sets policy_delay=2; .*e\.g\. td3=False, twin_critics=True, "
                                          r"policy_delay=2$"):
        train(with_overrides(fast_config(td3=True), {"policy_delay": 3}), tmp_path / "c", show_progress=False)
    with pytest.raises(ConfigError, match=r"seed=-1 is not allowed: must be an integer >= 0 .*, e\.g\. seed=0$"):
        train(fast_config(seed=-1), tmp_path / "d", show_progress=False)


@pytest.mark.parametrize("name, value, message", [
    ("steps", "100", "steps='100' is not allowed: must be an integer, e.g. steps=30000"),
    ("buffer_size", 1e4, "buffer_size=10000.0 is not allowed: must be an integer, e.g. buffer_size=1000000"),
    ("save_buffer", "no", "save_buffer='no' is not allowed: must be true or false, e.g. save_buffer=True"),
])
def test_a_run_setting_of_the_wrong_type_is_refused_in_python_instead_of_a_type_error(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        train(dataclasses.replace(fast_config(), **{name: value}), tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


# --- a student's own environment: module:EnvId ----------------------------------------------------------------
STUDENT_MODULE = textwrap.dedent('''
    import gymnasium as gym
    import numpy as np


    class DriftEnv(gym.Env):
        """A point pushed by a 2-d action with asymmetric bounds; no render_mode argument, as students write it."""

        nan_at_step = None  # the step of each episode whose reward is NaN

        def __init__(self):
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
            self.action_space = gym.spaces.Box(np.array([-3.0, 0.5]), np.array([1.0, 2.0]), dtype=np.float64)

        def reset(self, seed=None, options=None):
            super().reset(seed=seed)
            self.x, self.t = self.np_random.uniform(-1, 1, 2), 0
            return self.x.copy(), {}

        def step(self, action):
            self.x, self.t = self.x + 0.1 * (np.asarray(action) - 0.5), self.t + 1
            reward = float("nan") if self.t == self.nan_at_step else -float(np.abs(self.x).sum())
            return self.x.copy(), reward, False, False, {}


    class NanDriftEnv(DriftEnv):
        nan_at_step = 25


    class FlatEnv(DriftEnv):  # the second action dimension has nothing to choose: low == high
        def __init__(self):
            super().__init__()
            self.action_space = gym.spaces.Box(np.array([-3.0, 0.5]), np.array([1.0, 0.5]), dtype=np.float64)


    class ButtonEnv(DriftEnv):
        def __init__(self):
            super().__init__()
            self.action_space = gym.spaces.Discrete(2)


    gym.register(id="Drift-v0", entry_point=DriftEnv, max_episode_steps=30)
    gym.register(id="Button-v0", entry_point=ButtonEnv, max_episode_steps=30)
    gym.register(id="Flat-v0", entry_point=FlatEnv, max_episode_steps=30)
    gym.register(id="NanDrift-v0", entry_point=NanDriftEnv, max_episode_steps=30)
''')


@pytest.fixture
def student_module(tmp_path, monkeypatch):
    """A module of the student's in its own folder, on PYTHONPATH for the CLI and on sys.path for Python."""
    folder = tmp_path / "coursework"
    folder.mkdir()
    name = f"drift_env_{tmp_path.name.replace('-', '_')}"  # one module per test: a fresh registration each time
    (folder / f"{name}.py").write_text(STUDENT_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    return name, env


def test_a_students_module_env_trains_resumes_evaluates_and_plots_from_the_cli(tmp_path, student_module):
    module, env = student_module
    out = tmp_path / "run"
    first = run_tinyddpg("train", "--env", f"{module}:Drift-v0", "--steps", "100", "--out", str(out), *TINY, env=env)
    assert first.returncode == 0, first.stderr
    resumed = run_tinyddpg("train", "--resume", str(out), "--steps", "140", "--quiet", env=env)
    assert resumed.returncode == 0, resumed.stderr
    evaluated = run_tinyddpg("evaluate", str(out), "--episodes", "2", env=env)
    assert evaluated.returncode == 0 and evaluated.stdout.startswith(f"{module}:Drift-v0: mean return "), evaluated.stderr
    plotted = run_tinyddpg("plot", str(out), "-o", str(tmp_path / "c.png"), env=env)
    assert plotted.returncode == 0 and (tmp_path / "c.png").is_file(), plotted.stderr


def test_train_in_python_takes_a_module_env_id_and_its_asymmetric_bounds(tmp_path, student_module):
    module, _ = student_module
    counters = train(fast_config(env_id=f"{module}:Drift-v0", steps=80, random_steps=50, update_after=40,
                                 eval_every=70, eval_episodes=1), tmp_path / "run", show_progress=False)
    assert counters.step == 80
    from tinyddpg.run.train import load_agent

    agent, _ = load_agent(tmp_path / "run")
    np.testing.assert_array_equal(agent.low, [-3.0, 0.5])
    np.testing.assert_array_equal(agent.high, [1.0, 2.0])


@pytest.mark.parametrize("env_id, message", [
    ("{m}:Button-v0", "Button-v0 has a Discrete action space; DDPG needs continuous actions"),
    ("{m}:Flat-v0", "Flat-v0 has action space Box([-3.   0.5], [1.  0.5], (2,), float64); DDPG needs a flat Box with "
                    "finite bounds, low < high, "),
    ("{m}:DriftEnv", "is not a registered gymnasium environment (did you mean 'Drift-v0' or 'NanDrift-v0'?); DriftEnv "
                     "is a class, not an id: register it at the end of {m}.py with gymnasium.register(id='DriftEnv-v0', "
                     "entry_point='{m}:DriftEnv', max_episode_steps=200), then give env_id '{m}:DriftEnv-v0'"),
    ("{m}:Drfit-v0", "(did you mean 'Drift-v0' or 'NanDrift-v0'?); importing {m} did not register it"),
    ("no_such_module_here:Drift-v0", "env_id='no_such_module_here:Drift-v0': there is no module no_such_module_here "
                                     "to import in the current folder ("),
], ids=["discrete actions", "low equals high in one dimension", "a class name", "a misspelt id", "a module not on the path"])
def test_a_module_env_id_that_cannot_work_is_refused_in_one_line(tmp_path, student_module, env_id, message):
    module, env = student_module
    result = run_tinyddpg("train", "--env", env_id.format(m=module), "--out", str(tmp_path / "run"), env=env)
    gymnasiums_own_note = ("passive_env_checker.py", "logger.warn(")  # its env checker warns of low == high: kept
    result.stderr = "\n".join(line for line in result.stderr.splitlines() if not any(n in line for n in gymnasiums_own_note))
    assert_one_line_refusal(result, message.format(m=module))
    assert not (tmp_path / "run").exists()


def test_a_module_that_fails_to_import_is_named_with_its_line(tmp_path, student_module):
    _, env = student_module
    (tmp_path / "coursework" / "broken_env_mod.py").write_text("import gymnasium\nraise ValueError('oops')\n")
    result = run_tinyddpg("train", "--env", "broken_env_mod:X-v0", "--out", str(tmp_path / "run"), env=env)
    assert_one_line_refusal(result, f"importing broken_env_mod failed at {tmp_path / 'coursework' / 'broken_env_mod.py'}"
                                    f":2 (ValueError: oops); fix it there")


def test_a_nan_reward_from_a_students_env_stops_at_its_step_before_it_is_stored(tmp_path, student_module):
    module, env = student_module
    result = run_tinyddpg("train", "--env", f"{module}:NanDrift-v0", "--steps", "400", "--out", str(tmp_path / "run"),
                          *TINY, env=env)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("tinyddpg: error: step 25: a transition with NaN or infinity is not stored"), error
    assert "reward nan" in error, error
    assert "no checkpoint was saved yet" in error and "Traceback" not in result.stderr


def test_an_environment_object_given_to_train_is_refused_with_how_to_register_it(tmp_path):
    from toy_envs import CountingEnv

    with pytest.raises(ConfigError, match=r"env_id=<toy_envs\.CountingEnv object at .*> is not allowed: must be an "
                                          r"id, which a resume and an evaluation can make again; register it at the "
                                          r"end of toy_envs.py with gymnasium.register\(id='CountingEnv-v0', "
                                          r"entry_point='toy_envs:CountingEnv'"):
        train(dataclasses.replace(TrainConfig(), env_id=CountingEnv()), tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


# --- noise ----------------------------------------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="MuJoCo not installed (pip install -e '.[mujoco]')")
def test_halfcheetah_starts_without_mujocos_deprecation_warning_or_its_log_file(tmp_path):
    script = ("from tinyddpg.run.envs import make_env; import mujoco; env = make_env('HalfCheetah-v5'); "
              "env.reset(seed=0); print(mujoco.get_mju_user_warning())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "deprecated" not in result.stderr and result.stderr == "", result.stderr
    assert result.stdout.strip() == "None"  # MuJoCo's own handler is back afterwards
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT in the user's folder


def test_python_m_tinyddpg_gradcheck_prints_no_runtime_warning():
    result = subprocess.run([sys.executable, "-m", "tinyddpg.gradcheck"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "MLP" in result.stdout
