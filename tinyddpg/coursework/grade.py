"""`tinyddpg grade DIR`: grade an assignment folder part by part, each part in a process of its own under a time
limit, with the engine's own code standing in for every other part; then two short training runs with all of the
student's parts. Points per part are split evenly over its checks.

Exit status: 0 full marks, 1 graded with points lost, 2 nothing graded (the folder or an option is unusable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..run.atomic import replaced_atomically
from .assignment import read_manifest
from .parts import PARTS_BY_NAME, TRAINING_BANDIT_POINTS, TRAINING_PENDULUM_POINTS

TRAINING_PARTS = {"training_bandit": TRAINING_BANDIT_POINTS, "training_pendulum": TRAINING_PENDULUM_POINTS}
TRAINING_TIME_FACTOR = 10  # a training part may run this many times the per-part time limit
WATCHDOG_GRACE = 10.0  # seconds past a part's time limit before its process is killed (when its alarm did not stop it)
ENGINE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding this tinyddpg package


@dataclass
class PartResult:
    number: int
    name: str
    max_points: int
    checks: list[dict] = field(default_factory=list)  # {"title", "passed", "message"}
    seconds: float = 0.0

    @property
    def points(self) -> float:
        passed = sum(check["passed"] for check in self.checks)
        return round(self.max_points * passed / len(self.checks), 2) if self.checks else 0.0

    @property
    def where(self) -> str:
        part = PARTS_BY_NAME.get(self.name)
        return f"{part.function.replace(':', ': ')}; read {part.guide}" if part else "all of your parts together"


def run_child(folder: Path, names: list[str], timeout: float) -> tuple[dict[str, dict], str]:
    """Grade `names` one after another in a child process, each under its own `timeout` (an alarm in the child);
    a child that reports no part for `timeout` + WATCHDOG_GRACE seconds is killed. Returns the parts that
    reported ({name: {"checks", "seconds"}}) and, for the first that did not, why."""
    with tempfile.TemporaryDirectory() as scratch:
        output, log = Path(scratch) / "result.jsonl", Path(scratch) / "output.txt"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ENGINE_ROOT), os.environ.get("PYTHONPATH", "")]),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "tinyddpg.coursework.run_part", str(folder.resolve()), str(output),
                   str(timeout), *names]
        with log.open("w") as printed:  # the student's prints and the child's errors, never a pipe that can fill
            process = subprocess.Popen(command, cwd=scratch, env=env, stdout=printed, stderr=subprocess.STDOUT)
            why = watch(process, output, timeout + WATCHDOG_GRACE)
        last = (log.read_text(errors="replace").strip().splitlines() or ["no message"])[-1]
        lines = output.read_text().splitlines() if output.is_file() else []
    why = why or f"the grading process ended with exit status {process.returncode} and no result: {last}"
    return {record["part"]: record for record in map(json.loads, lines)}, why


def watch(process: subprocess.Popen, output: Path, patience: float) -> str:
    """Wait for the child; kill it when `patience` seconds pass without a new part reported. '' if it ended."""
    deadline, reported = time.monotonic() + patience, 0
    while process.poll() is None:
        time.sleep(0.05)
        now_reported = len(output.read_text().splitlines()) if output.is_file() else 0
        if now_reported > reported:
            deadline, reported = time.monotonic() + patience, now_reported
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            return f"stopped after {patience - WATCHDOG_GRACE:g} s: an endless loop, or far too slow"
    return ""


def grade(folder: Path, parts: str | None = None, timeout: float = 60.0, training: bool = True) -> list[PartResult]:
    """Grade the chosen parts of the assignment in folder. The quick parts share one child process; when it
    crashes or hangs, the part it was on gets the blame (0 points, and why) and the rest go on in a new child.
    Each training part runs alone, with TRAINING_TIME_FACTOR times the time limit."""
    chosen = chosen_parts(folder, parts, training)
    reported, pending = {}, [name for name, _ in chosen if name not in TRAINING_PARTS]
    batches = [(pending, timeout)] + [([name], timeout * TRAINING_TIME_FACTOR) for name, _ in chosen
                                      if name in TRAINING_PARTS]
    for names, limit in batches:
        while names:
            done, why = run_child(folder, names, limit)
            reported.update(done)
            names = [name for name in names if name not in done]
            if names:
                reported[names.pop(0)] = {"seconds": limit, "checks": [
                    {"title": "finishes in time, without ending the process", "passed": False, "message": why}]}
    return [PartResult(number, name, points, reported[name]["checks"], reported[name]["seconds"])
            for number, (name, points) in enumerate(chosen, start=1)]


def chosen_parts(folder: Path, parts: str | None, training: bool) -> list[tuple[str, int]]:
    """(name, points) of the parts to grade, in the assignment's order, the training parts last."""
    assigned = read_manifest(folder)
    names = assigned if parts is None else [name.strip() for name in parts.split(",") if name.strip()]
    unknown = [name for name in names if name not in assigned and name not in TRAINING_PARTS]
    if unknown or not names:
        raise ConfigError(f"--parts {parts!r}: {', '.join(unknown) or 'no part given'} is not a part of this assignment; "
                          f"choose from {', '.join([*assigned, *TRAINING_PARTS])}, e.g. --parts {assigned[0]}")
    chosen = [(name, PARTS_BY_NAME[name].points) for name in names if name in PARTS_BY_NAME]
    wanted_training = [name for name in TRAINING_PARTS if name in names or (parts is None and training)]
    return chosen + [(name, TRAINING_PARTS[name]) for name in wanted_training]


def part_report(result: PartResult) -> str:
    status = "ok" if result.points == result.max_points else "LOST POINTS"
    lines = [f"{result.number:>2}. {result.name:<22} {result.points:>6g} / {result.max_points:<3} {status}  "
             f"({result.where}; {result.seconds:.1f} s)"]
    for check in result.checks:
        note = f" ({check['message']})" if check["passed"] and check["message"] else ""
        failure = "" if check["passed"] else f"\n            {check['message']}"
        lines.append(f"      {'pass' if check['passed'] else 'FAIL'}  {check['title']}{note}{failure}")
    return "\n".join(lines)


def total_line(results: list[PartResult], seconds: float) -> str:
    score, best = sum(r.points for r in results), sum(r.max_points for r in results)
    return f"Total: {score:g} / {best} points (graded in {seconds:.0f} s)"


def gradescope_results(results: list[PartResult], seconds: float) -> dict:
    """Gradescope's results.json: a score per test (one test per part) with its output; the total is their sum."""
    return {
        "score": round(sum(r.points for r in results), 2),
        "execution_time": round(seconds),
        "output": total_line(results, seconds),
        "tests": [{"name": f"{r.number}. {r.name}", "number": str(r.number), "score": r.points,
                   "max_score": r.max_points, "status": "passed" if r.points == r.max_points else "failed",
                   "output": part_report(r)} for r in results],
    }


def write_json_atomically(path: Path, data: dict) -> None:
    with replaced_atomically(path) as file:
        file.write(json.dumps(data, indent=2) + "\n")


def grade_command(folder: Path, parts: str | None, timeout: float, training: bool, gradescope: Path | None) -> int:
    """The CLI: print each part's report as it is graded, the total, and optionally write results.json."""
    chosen_parts(folder, parts, training)  # unusable input is refused before any work starts
    start = time.monotonic()
    print(f"grading {folder} (time limit {timeout:g} s a part, {timeout * TRAINING_TIME_FACTOR:g} s a training run)",
          flush=True)
    results = grade(folder, parts, timeout, training)
    seconds = time.monotonic() - start
    print("\n".join(map(part_report, results)))
    print(total_line(results, seconds))
    if gradescope is not None:
        try:
            write_json_atomically(gradescope, gradescope_results(results, seconds))
        except OSError as error:
            raise ConfigError(f"graded, but {gradescope} could not be written ({error.strerror or error}); run again "
                              f"with --gradescope in a folder you can write, e.g. --gradescope results.json") from None
        print(f"Gradescope results written to {gradescope}")
    return 0 if all(r.points == r.max_points for r in results) else 1
