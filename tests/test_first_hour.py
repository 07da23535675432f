"""A student's first hour, third pass (issue 25, items 2-7): the frictions a newcomer still met, each driven as the
newcomer did it (the CLI in a subprocess where the process itself is what is tested: its folder, its pipe, its
signals; in process otherwise)."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import fast_config, run_tinyddpg

from tinyddpg import DDPG, DDPGConfig
from tinyddpg.errors import ConfigError
from tinyddpg.run import checkpoint as ckpt
from tinyddpg.run.runlog import read_log
from tinyddpg.run.train import train

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


# --- item 5: tracebacks left ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def solution_assignment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coursework") / "assignment"
    result = run_tinyddpg("assignment", "new", str(folder), "--solution")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("args", [["grade", "{assignment}", "--no-training", "--parts", "relu_backward"], ["gradcheck"]],
                         ids=["grade", "gradcheck"])
def test_a_command_whose_reader_went_away_stops_quietly_without_a_traceback(solution_assignment, args):
    """`tinyddpg grade DIR | head -8`: head exits, the pipe closes; here it is closed before the first write."""
    args = [arg.format(assignment=solution_assignment) for arg in args]
    process = subprocess.Popen([sys.executable, "-m", "tinyddpg", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=300)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr, stderr
    assert process.returncode == 141, stderr  # 128 + SIGPIPE, as a shell reports a command cut off by head


@pytest.mark.parametrize("config, out_dir, message", [
    ({"steps": 10}, "run", "config={'steps': 10} is not allowed: must be a TrainConfig, e.g. "
                           "with_overrides(preset('pendulum'), {'steps': 10})"),
    ("pendulum", "run", "config='pendulum' is not allowed: must be a TrainConfig, e.g. preset('pendulum')"),
    (None, 123, "out_dir=123 is not allowed: must be a folder path (a str or pathlib.Path), e.g. 'runs/p1'"),
], ids=["a dict as config", "a preset name as config", "a number as out_dir"])
def test_train_given_the_wrong_kind_of_argument_says_which_and_what_is_allowed(tmp_path, monkeypatch, config, out_dir,
                                                                                message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        train(fast_config(steps=10) if config is None else config, out_dir, show_progress=False)
    assert str(refused.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("obs, got", [(np.zeros(4), "obs of shape (4,)"), ("abc", "obs='abc'"),
                                      (np.zeros((2, 3)), "obs of shape (2, 3)")],
                         ids=["4 numbers for 3", "a string", "a batch"])
def test_act_refuses_an_observation_that_does_not_fit_the_agent_in_words(obs, got):
    agent = DDPG(3, 1, [-2.0], [2.0], DDPGConfig(hidden=(8,)))
    with pytest.raises(ConfigError) as refused:
        agent.act(obs)
    assert str(refused.value) == (f"act({got}) is not allowed: obs must be one observation of 3 numbers (shape (3,)), "
                                  f"as this agent was made with obs_dim=3")
    assert agent.act([0.1, 0.2, 0.3]).shape == (1,)  # a list of the right length still works


# --- item 2: your own environment, from the folder that holds it ------------------------------------------------
MY_ENV = '''
import gymnasium as gym
import numpy as np


class MyEnv(gym.Env):
    """A point pushed by its action, as a student writes one: no render_mode argument."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-1, 1, 2)
        return self.x.copy(), {}

    def step(self, action):
        self.x = 0.9 * self.x + 0.1 * float(action[0])
        return self.x.copy(), -float(np.abs(self.x).sum()), False, False, {}


gym.register(id="MyEnv-v0", entry_point="my_env:MyEnv", max_episode_steps=20)
'''
SMALL = ["--hidden", "8", "--batch-size", "8", "--random-steps", "20", "--update-after", "20", "--eval-every", "40",
         "--eval-episodes", "1", "--buffer-size", "100", "--checkpoint-every", "40", "--threads", "1"]


def tinyddpg_script(*args, cwd):
    """The `tinyddpg` console script: unlike `python -m`, it does not put the current folder on sys.path (-P)."""
    return subprocess.run([sys.executable, "-P", "-m", "tinyddpg", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture
def my_env_folder(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "my_env.py").write_text(MY_ENV)
    return folder


def test_your_own_environment_is_imported_from_the_current_folder_by_every_command(my_env_folder):
    trained = tinyddpg_script("train", "--env", "my_env:MyEnv-v0", "--steps", "40", "--out", "run", "--quiet", *SMALL,
                              cwd=my_env_folder)
    assert trained.returncode == 0, trained.stderr
    resumed = tinyddpg_script("train", "--resume", "run", "--steps", "80", "--quiet", cwd=my_env_folder)
    assert resumed.returncode == 0, resumed.stderr
    evaluated = tinyddpg_script("evaluate", "run", "--episodes", "1", cwd=my_env_folder)
    assert evaluated.returncode == 0 and evaluated.stdout.startswith("my_env:MyEnv-v0: mean return "), evaluated.stderr
    swept = tinyddpg_script("sweep", "--env", "my_env:MyEnv-v0", "--steps", "40", "--out", "sweep", "--quiet",
                            "--workers", "1", *SMALL,
                            cwd=my_env_folder)
    assert swept.returncode == 0, swept.stderr
    plotted = tinyddpg_script("plot", "run", "sweep", "-o", "both.png", cwd=my_env_folder)
    assert plotted.returncode == 0 and (my_env_folder / "both.png").is_file(), plotted.stderr


def test_a_module_in_no_folder_on_the_path_is_refused_naming_the_current_folder(my_env_folder, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = tinyddpg_script("train", "--env", "my_env:MyEnv-v0", "--out", "run", cwd=elsewhere)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr == (f"tinyddpg: error: env_id='my_env:MyEnv-v0': there is no module my_env to import in the "
                             f"current folder ({elsewhere}) or on PYTHONPATH; run the command from the folder that "
                             f"holds my_env.py, or put that folder on PYTHONPATH\n")


# --- item 4: a sweep stopped by Ctrl-C -------------------------------------------------------------------------
TOY_MODULE = f'''
import sys
sys.path.insert(0, {str(TESTS)!r})
from toy_envs import register_toy_envs
register_toy_envs()
'''
# runs that never finish by themselves (Ctrl-C is what ends them); 7-step episodes, a checkpoint every 50 steps
ENDLESS = ["--steps", "10000000", "--hidden", "8", "--batch-size", "8", "--random-steps", "20", "--update-after", "20",
           "--eval-every", "1000000", "--buffer-size", "500", "--checkpoint-every", "50"]


def processes_in_session(session: int) -> list[str]:
    """The processes still alive in a session (the sweep's own, started as its leader): "pid name" each."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(f"{stat.parent.name} {name}")
    return alive


def stopped_sweep(tmp_path, wait, signals=1):
    """Start a 2-run sweep on 2 local workers in a session of its own; once it printed its start line (its workers
    are being started: importing, making environments), wait(out), then send SIGINT to its whole process group as
    a terminal's Ctrl-C does, `signals` times. Returns (process, stderr, args) once no process of it is left."""
    (tmp_path / "toy_sweep_env.py").write_text(TOY_MODULE)
    out = tmp_path / "sweep"
    args = ["sweep", "--env", "toy_sweep_env:tinyddpg-test/Drift-v0", "--seeds", "0-1", "--workers", "2", "--out",
            str(out), *ENDLESS]
    process = subprocess.Popen([sys.executable, "-m", "tinyddpg", *args], stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, start_new_session=True)
    try:
        start = process.stderr.readline()
        assert start.startswith("sweep: 2 runs"), start + process.stderr.read()
        wait(out)
        for _ in range(signals):
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.05)
        _, rest = process.communicate(timeout=120)  # a hang fails here
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while processes_in_session(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_in_session(process.pid) == [], start + rest  # no worker, no resource tracker left behind
    return process, start + rest, args


def both_checkpointed(out):
    """Both runs are training: each has saved a checkpoint."""
    deadline = time.monotonic() + 120
    while not all((out / f"pendulum/seed{seed}/checkpoint.npz").exists() for seed in (0, 1)):
        assert time.monotonic() < deadline, "the runs saved no checkpoint in 120 s"
        time.sleep(0.1)


def assert_stopped_and_told_how_to_continue(process, stderr, args):
    assert process.returncode == 130, stderr
    for wrong in ("Traceback", "KeyboardInterrupt", "FAILED", "fix the cause", "failed"):
        assert wrong not in stderr, stderr
    assert "sweep stopped by SIGINT: 0 of 2 runs finished" in stderr, stderr
    assert stderr.rstrip().endswith(f"continue it with the same command: {shlex.join(['tinyddpg', *args])}"), stderr


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.2], ids=lambda d: f"{d} s after the start line")
def test_a_sweep_stopped_while_its_workers_start_says_so_and_leaves_no_process(tmp_path, delay):
    process, stderr, args = stopped_sweep(tmp_path, lambda out: time.sleep(delay))
    assert_stopped_and_told_how_to_continue(process, stderr, args)


def test_a_sweep_stopped_while_training_saves_each_run_at_an_episode_end_and_says_how_to_continue(tmp_path):
    process, stderr, args = stopped_sweep(tmp_path, both_checkpointed)
    assert_stopped_and_told_how_to_continue(process, stderr, args)
    for seed in (0, 1):
        run = tmp_path / f"sweep/pendulum/seed{seed}"
        step = ckpt.read_checkpoint_meta(run / "checkpoint.npz")["counters"]["step"]
        last = read_log(run / "progress.csv")[-1]
        assert int(last["step"]) == step and last["episode_return"] != "", last  # saved as an episode ended
        assert f"pendulum/seed{seed}: stopped at step {step:,}, saved at an episode end" in stderr, stderr


def test_a_sweep_stopped_twice_stops_after_the_current_step_without_a_traceback(tmp_path):
    process, stderr, args = stopped_sweep(tmp_path, both_checkpointed, signals=2)
    assert_stopped_and_told_how_to_continue(process, stderr, args)


# --- item 6: messages that mislead ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 400-step Pendulum run (checkpoints at 200 and 400), trained in process."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train(fast_config(steps=400), out, show_progress=False, announce=False, threads=1)
    return out


def copy_run(run, to):
    shutil.copytree(run, to, ignore=shutil.ignore_patterns("train.lock"))
    return to


def test_a_finished_run_whose_checkpoint_was_deleted_is_not_started_over_silently(finished_run, tmp_path, capsys):
    from tinyddpg.run.cli import main

    run = copy_run(finished_run, tmp_path / "run")
    (run / "checkpoint.npz").unlink()
    log = (run / "progress.csv").read_text()
    message = (f"{run}/checkpoint.npz is missing, but the log shows the run got to step 400 (it saves a checkpoint "
               f"every 200 steps): the checkpoint was deleted or moved. Put it back to continue the run, or start the "
               f"run over in its folder: mv {run}/progress.csv {run}/progress.csv.old && tinyddpg train --resume {run}")
    for command in (["train", "--resume", str(run), "--steps", "600", "--quiet"], ["evaluate", str(run)]):
        assert main(command) == 2
        assert capsys.readouterr().err == f"tinyddpg: error: {message}\n"
        assert (run / "progress.csv").read_text() == log and not (run / "checkpoint.npz").exists()
    move, resume = message.split("in its folder: ")[1].split(" && ")
    subprocess.run(move, shell=True, check=True)  # the way it names works
    assert main([*shlex.split(resume)[1:], "--quiet", "--threads", "1"]) == 0
    assert "starting it over" in capsys.readouterr().err and (run / "checkpoint.npz").exists()
    assert (run / "progress.csv.old").read_text() == log


def test_a_resume_says_how_many_steps_remain_not_the_total(finished_run, tmp_path, capsys):
    from tinyddpg.run.cli import main

    run = copy_run(finished_run, tmp_path / "run")
    assert main(["train", "--resume", str(run), "--steps", "600", "--quiet"]) == 0
    start = capsys.readouterr().err.splitlines()[0]
    assert start.startswith("continuing Pendulum-v1 from step 400 to 600 (200 steps to go; seed 0, backend numpy, "), start


def test_a_gif_of_an_environment_that_takes_no_render_mode_says_so(tmp_path, monkeypatch, capsys):
    from tinyddpg.run.cli import main

    (tmp_path / "my_env.py").write_text(MY_ENV)
    monkeypatch.chdir(tmp_path)
    train(fast_config(env_id="my_env:MyEnv-v0", steps=40, random_steps=20, update_after=20, eval_every=40,
                      checkpoint_every=40, batch_size=8), tmp_path / "run", show_progress=False, announce=False, threads=1)
    assert main(["evaluate", "run", "--episodes", "1", "--gif", "a.gif"]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == ("tinyddpg: error: my_env:MyEnv-v0 does not accept render_mode, so it cannot draw frames: give "
                     "MyEnv.__init__ a render_mode=None argument (store it as self.render_mode) and a render() that "
                     "returns an RGB array when it is 'rgb_array'; the evaluation returns above are unaffected"), error
    assert "MuJoCo" not in error and "this machine" not in error


# --- item 3: short runs meet preset defaults -------------------------------------------------------------------
def svg_texts(path):
    """The texts a matplotlib SVG draws (it writes each as a comment beside its glyphs)."""
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def test_a_run_shorter_than_its_random_steps_and_eval_every_says_so_at_the_start(tmp_path, capsys):
    from tinyddpg.run.cli import main

    assert main(["train", "--steps", "300", "--hidden", "8", "--batch-size", "8", "--buffer-size", "1000", "--out",
                 str(tmp_path / "run"), "--quiet", "--threads", "1"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("NOTE: ")]
    assert notes == ["NOTE: steps 300 <= random_steps 5,000: the policy never acts (every action is random); give "
                     "--random-steps 100 or more --steps",
                     "NOTE: steps 300 < update_after 1,000: the networks are never updated; give --update-after 100 "
                     "or more --steps",
                     "NOTE: steps 300 < eval_every 1,000: no evaluation runs, so curve.png shows the training returns "
                     "(with exploration noise); give --eval-every 100 or more --steps"]
    capsys.readouterr()
    train(fast_config(steps=300), tmp_path / "fits", show_progress=False, threads=1)  # 100 random, eval every 200
    assert "NOTE" not in capsys.readouterr().err


def test_the_curve_of_a_run_without_evaluations_draws_its_training_returns(tmp_path):
    from tinyddpg.run.plot import plot_runs

    train(fast_config(steps=400, eval_every=1000), tmp_path / "run", show_progress=False, announce=False, threads=1)
    texts = svg_texts(plot_runs([tmp_path / "run"], tmp_path / "curve.svg"))
    assert "training episode return (no evaluation yet)" in texts, texts
    assert "no evaluation yet" not in texts and "Pendulum-v1 (1 seed)" in texts


def test_the_curve_of_a_run_without_a_finished_episode_says_so_and_draws_no_empty_axes(tmp_path):
    from tinyddpg.run.plot import plot_runs

    train(fast_config(steps=10), tmp_path / "run", show_progress=False, announce=False, threads=1)
    texts = svg_texts(plot_runs([tmp_path / "run"], tmp_path / "curve.svg"))
    assert "no episode has ended yet: nothing to draw" in texts, texts
    assert "no update yet" in texts, texts
    assert not any(re.fullmatch(r"[-−]?\d+(\.\d+)?", text) for text in texts), texts  # no tick labels of empty axes


# --- item 7: the docs against what happens ----------------------------------------------------------------------
def test_the_guides_own_layer_section_shows_tinyddpg_gradcheck_on_a_file_and_it_passes(tmp_path, monkeypatch, capsys):
    from tinyddpg.run.cli import main

    guide = (REPO / "docs/guide.md").read_text()
    section = guide[guide.index("### 10.2 Check a layer you wrote"):guide.index("### 10.3")]
    file = next(block for block in re.findall(r"```python\n(.*?)```", section, re.S) if block.startswith("# my_layers.py"))
    command = re.search(r"```bash\n(tinyddpg gradcheck (\S+\.py:\w+))\n```", section)
    assert command, "the section does not show `tinyddpg gradcheck FILE.py:Name`"
    (tmp_path / "my_layers.py").write_text(file)
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(command.group(1))[1:]) == 0
    assert "PASS: worst relative error" in capsys.readouterr().out


def test_the_readme_and_faq_say_which_version_and_date_a_result_was_measured_with():
    readme, faq = (REPO / "README.md").read_text(), (REPO / "docs/faq.md").read_text()
    for text in (readme, faq):
        history = re.search(r".{0,80}(earlier (session|run)|session's).{0,80}", text)
        assert not history, history.group(0)  # not how the work was done, but what it was measured with
    assert re.search(r"tinyddpg 0\.1\.0\s+\(commit [0-9a-f]{7}, 2026-11-22\)", readme)  # the first results table
    assert re.search(r"commit [0-9a-f]{7},\s+2026-12-02", readme)  # the DDPG against TD3 table
