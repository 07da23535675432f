"""The examples run end to end (with tiny step counts)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, cwd=None):
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def test_gradcheck_example_reports_every_check_and_catches_the_planted_bug():
    result = run_example("gradcheck.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("rel error") == 8  # 4 layer reports, 3 DDPG reports, 1 exercise
    assert "FAILS. Which line of BrokenTanh.backward is wrong?" in result.stdout
    assert "1 - y" not in result.stdout and "tanh(x)^2" not in result.stdout  # the answer only on request
    solved = run_example("gradcheck.py", "--solution")
    assert "the fix: dx = dout * (1 - y**2)" in solved.stdout
    assert solved.stdout.rstrip().endswith(": passes")  # and the fixed Tanh passes


def test_pendulum_example_trains_evaluates_plots_and_animates(tmp_path):
    result = run_example("pendulum.py", "--steps", "400", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "over 10 noise-free episodes" in result.stdout
    assert (tmp_path / "curve.png").exists() and (tmp_path / "pendulum.gif").exists()


@pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="MuJoCo not installed (pip install -e '.[mujoco]')")
def test_halfcheetah_example_resumes_and_explains_a_missing_renderer(tmp_path):
    first = run_example("halfcheetah.py", "--steps", "300", "--noise", "ou", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_example("halfcheetah.py", "--steps", "600", "--noise", "ou", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stdout and "evaluation:" in second.stdout
    assert "animation:" in second.stdout or "no animation: HalfCheetah-v5 cannot render on this machine" in second.stdout
