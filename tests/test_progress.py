"""The progress display: plain lines in a file, a redrawn tqdm bar on a terminal, and an ETA from a recent window
of steps that waits for the warm-up to end. Time comes from a fake clock, so every figure is known exactly.
(The notebook bar is checked where it runs: tests/test_notebook.py executes the tour.)"""

import io
import re

from helpers import run_tinyddpg

from tinyddpg.run.progress import FILE_EVERY_S, RATE_WINDOW_STEPS, Progress
from tinyddpg.run.runlog import read_log


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_steps(progress, clock, steps, seconds_per_step, first=1, **shown):
    for step in range(first, first + steps):
        clock.now += seconds_per_step
        progress.show(step, **{"episodes": 0, "last_return": None, "last_eval": None, **shown})


def last_line(stream):
    return stream.getvalue().splitlines()[-1]


def eta(progress, clock, stream, step):
    progress.show(step, 0, None, None, force=True)
    return re.search(r"\| ETA (\S+) \|", last_line(stream)).group(1)


def test_a_file_gets_a_plain_line_every_30_seconds_with_every_field():
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(2_000, clock=clock, stream=stream)
    run_steps(progress, clock, 1_000, 0.25, episodes=4, last_return=-1234.56, last_eval=(-150.04, 30.0))
    lines = stream.getvalue().splitlines()
    assert len(lines) == int(1_000 * 0.25 // FILE_EVERY_S) + 1  # the first step, then every 30 s of the 250 s
    assert "\r" not in stream.getvalue()
    progress.show(1_000, 4, -1234.56, (-150.04, 30.0), force=True)
    assert last_line(stream) == ("step 1,000/2,000 (50%) | 4 steps/s | ETA 4m10s | episodes 4 | return -1234.6 | "
                                 "eval -150.0 ± 30.0")


def test_a_terminal_gets_a_bar_redrawn_in_place_with_the_same_fields():
    clock, stream = FakeClock(), Terminal()
    progress = Progress(2_000, clock=clock, stream=stream)
    run_steps(progress, clock, 1_000, 0.25, episodes=4, last_return=-1234.56, last_eval=(-150.04, 30.0))
    progress.show(1_000, 4, -1234.56, (-150.04, 30.0), force=True)
    progress.close()
    text = stream.getvalue()
    redraws = text.split("\r")
    assert len(redraws) > 400  # twice per second of the 250 s, each a redraw of the one line
    final = redraws[-1]
    assert "1000/2000" in final and final.endswith("\n")
    assert "4 steps/s | ETA 4m10s | episodes 4 | return -1234.6 | eval -150.0 ± 30.0]" in final


def test_the_eta_waits_for_the_warm_up_then_follows_the_recent_pace():
    clock, stream = FakeClock(), io.StringIO()
    total, warm_up, pace = 10_000, 1_000, 0.125  # 8 steps/s once updates run; the warm-up runs 128x faster
    progress = Progress(total, steady_from=warm_up, clock=clock, stream=stream)
    run_steps(progress, clock, warm_up - 1, 1 / 1024)
    assert eta(progress, clock, stream, warm_up - 1) == "-"  # the warm-up's pace would promise 9 s
    run_steps(progress, clock, RATE_WINDOW_STEPS, pace, first=warm_up)
    assert eta(progress, clock, stream, warm_up + RATE_WINDOW_STEPS - 1) == "-"  # the window still holds warm-up
    run_steps(progress, clock, 1, pace, first=warm_up + RATE_WINDOW_STEPS)
    step = warm_up + RATE_WINDOW_STEPS
    assert eta(progress, clock, stream, step) == "18m07s"  # (10,000 - 1,300) steps / 8 per s = 1087.5 s
    assert " 8 steps/s " in last_line(stream)
    run_steps(progress, clock, 2_000, pace, first=step + 1)  # then the pace doubles: the ETA follows it
    step += 2_000
    run_steps(progress, clock, RATE_WINDOW_STEPS, pace / 2, first=step + 1)
    step += RATE_WINDOW_STEPS
    assert eta(progress, clock, stream, step) == "6m40s"  # (10,000 - 3,600) steps / 16 per s = 400 s


def test_one_slow_evaluation_step_moves_the_eta_a_little_not_many_times_over():
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(10_000, clock=clock, stream=stream)
    run_steps(progress, clock, 2_000, 0.125)
    run_steps(progress, clock, 1, 2.0, first=2_001)  # 10 evaluation episodes inside one step
    run_steps(progress, clock, 10, 0.125, first=2_002)
    seconds = [int(part[:-1]) for part in eta(progress, clock, stream, 2_011).replace("m", "s ").split()]
    estimate = 60 * seconds[0] + seconds[1]
    true_pace_estimate = (10_000 - 2_011) * 0.125
    assert true_pace_estimate <= estimate <= 1.1 * true_pace_estimate


def test_resumed_progress_measures_only_this_sessions_steps():
    clock, stream = FakeClock(), io.StringIO()
    clock.now = 500.0
    progress = Progress(10_000, start_step=5_000, steady_from=1_000, clock=clock, stream=stream)
    run_steps(progress, clock, RATE_WINDOW_STEPS, 0.125, first=5_001)
    assert eta(progress, clock, stream, 5_000 + RATE_WINDOW_STEPS) == "9m47s"  # 4,700 / 8 per s = 587.5 s


def test_disabled_progress_writes_nothing():
    clock, stream, terminal = FakeClock(), io.StringIO(), Terminal()
    for out in (stream, terminal):
        progress = Progress(1_000, enabled=False, clock=clock, stream=out)
        run_steps(progress, clock, 100, 0.5)
        progress.show(100, 0, None, None, force=True)
        progress.close()
    assert stream.getvalue() == terminal.getvalue() == ""


def test_training_from_the_cli_with_stderr_in_a_file_prints_plain_lines_with_the_last_return_and_evaluation(tmp_path):
    result = run_tinyddpg("train", "--out", str(tmp_path / "run"), "--steps", "400", "--hidden", "32,32",
                          "--batch-size", "32", "--random-steps", "100", "--update-after", "50", "--eval-every", "200",
                          "--eval-episodes", "1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("step ")]
    assert lines[0].startswith("step 1/400 (0%) | ") and lines[0].endswith(" steps/s | ETA - | episodes 0 | return - | eval -")
    last = read_log(tmp_path / "run" / "progress.csv")[-1]
    assert lines[-1].startswith("step 400/400 (100%) | ") and " steps/s | ETA 0m00s | episodes 2 | " in lines[-1]
    assert lines[-1].endswith(f"| return {float(last['episode_return']):.1f} | eval {float(last['eval_return_mean']):.1f} "
                              f"± {float(last['eval_return_std']):.1f}")
    assert "\r" not in result.stderr


def test_a_finished_run_shows_no_time_left_even_before_the_window_fills():
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(100, steady_from=50, clock=clock, stream=stream)
    run_steps(progress, clock, 100, 0.125)
    assert eta(progress, clock, stream, 100) == "0m00s"
