"""`tinyddpg grade DIR`: grade an assignment folder part by part, each part in a fresh process of its own (forked
by zygote.py) under a time limit, with the engine's own code standing in for every other part; then two short
training runs with all of the student's parts. Points per part are split evenly over its checks. The grader alone
writes the report and results.json, from the verdicts the parts' processes hand back.

Exit status: 0 full marks, 1 graded with points lost, 2 nothing graded (the folder or an option is unusable).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import ConfigError
from ..run.atomic import replaced_atomically
from .assignment import ENGINE_MODULES, MANIFEST, PACKAGE, read_manifest
from .parts import PARTS_BY_NAME, TRAINING_BANDIT_POINTS, TRAINING_PENDULUM_POINTS
from .zygote import shared

TRAINING_PARTS = {"training_bandit": TRAINING_BANDIT_POINTS, "training_pendulum": TRAINING_PENDULUM_POINTS}
TRAINING_TIME_FACTOR = 10  # a training part may run this many times the per-part time limit
WATCHDOG_GRACE = 10.0  # seconds past a part's time limit before its process is killed (when its alarm did not stop it)
PRINTS_SHOWN = 3000  # the last bytes of a part's prints shown beside its checks (zygote.OUTPUT_KEPT are kept)


@dataclass
class PartResult:
    number: int
    name: str
    max_points: int
    checks: list[dict] = field(default_factory=list)  # {"title", "passed", "message"}
    seconds: float = 0.0
    output: str = ""  # the end of what the part's process printed
    printed: int = 0  # how many bytes it printed in all

    @property
    def points(self) -> float:
        passed = sum(check["passed"] for check in self.checks)
        return round(self.max_points * passed / len(self.checks), 2) if self.checks else 0.0

    @property
    def where(self) -> str:
        part = PARTS_BY_NAME.get(self.name)
        return f"{part.function.replace(':', ': ')}; read {part.guide}" if part else "all of your parts together"


def grade(folder: Path, parts: str | None = None, timeout: float = 60.0, training: bool = True) -> list[PartResult]:
    """Grade the chosen parts of the assignment in folder, each in a fresh process. A part whose process ends
    without a verdict (a crash, or killed by the watchdog) scores 0 with the reason. Each training part gets
    TRAINING_TIME_FACTOR times the time limit."""
    folder = assignment_folder(folder)
    results, zygote = [], shared()
    for number, (name, points) in enumerate(chosen_parts(folder, parts, training), start=1):
        limit = timeout * (TRAINING_TIME_FACTOR if name in TRAINING_PARTS else 1)
        answer = zygote.grade(folder, name, limit, limit + WATCHDOG_GRACE)
        checks = answer["checks"] or [{"title": "finishes in time, without ending the process", "passed": False,
                                       "message": answer["ended"]}]
        results.append(PartResult(number, name, points, checks, answer["seconds"], answer["output"], answer["printed"]))
    return results


def assignment_folder(folder: Path) -> Path:
    """folder, or the one folder inside it that holds the assignment (an upload nested one folder deep)."""
    if folder.is_dir() and not (folder / MANIFEST).is_file():
        inside = [d for d in sorted(folder.iterdir()) if d.is_dir() and (d / MANIFEST).is_file() and (d / PACKAGE).is_dir()]
        if len(inside) == 1:
            return inside[0]
    return folder


def version_warning(folder: Path) -> str:
    """'' when the assignment was made by this tinyddpg version, else a warning that says what to install."""
    try:
        made_by = json.loads((folder / MANIFEST).read_text()).get("tinyddpg")
    except (OSError, ValueError, AttributeError):
        made_by = None
    if made_by == __version__:
        return ""
    return (f"WARNING: this assignment was made by tinyddpg {made_by or '(version not recorded)'} and is graded by "
            f"tinyddpg {__version__}; the checks and the stubs may differ: grade with the version that made it, "
            f"e.g. pip install tinyddpg=={made_by or __version__}")


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
    if result.printed:
        shown = result.output[-PRINTS_SHOWN:]
        cut = f"the last {len(shown.encode()):,} of {result.printed:,} bytes" if len(shown.encode()) < result.printed else "all"
        lines.append(f"      printed by the part's process ({cut}):")
        lines += [f"        | {line}" for line in shown.splitlines()]
    return "\n".join(lines)


def total_line(results: list[PartResult], seconds: float) -> str:
    score, best = sum(r.points for r in results), sum(r.max_points for r in results)
    return f"Total: {score:g} / {best} points (graded in {seconds:.0f} s)"


def gradescope_results(results: list[PartResult], seconds: float, warning: str = "") -> dict:
    """Gradescope's results.json: a score per test (one test per part) with its output; the total is their sum."""
    return {
        "score": round(sum(r.points for r in results), 2),
        "execution_time": round(seconds),
        "output": "\n".join(filter(None, [total_line(results, seconds), warning])),
        "tests": [{"name": f"{r.number}. {r.name}", "number": str(r.number), "score": r.points,
                   "max_score": r.max_points, "status": "passed" if r.points == r.max_points else "failed",
                   "output": part_report(r)} for r in results],
    }


def write_json_atomically(path: Path, data: dict) -> None:
    with replaced_atomically(path) as file:
        file.write(json.dumps(data, indent=2) + "\n")


def with_submission(folder: Path, upload: Path, scratch: Path) -> Path:
    """A copy of the assignment folder in scratch with the student's files from upload over its my_ddpg/: the
    files named as the package's modules, found flat, in my_ddpg/, or one folder down (hw1/my_ddpg/, hw1/)."""
    inside = sorted(d for d in upload.iterdir() if d.is_dir()) if upload.is_dir() else []
    places = [upload / PACKAGE, upload, *[d / PACKAGE for d in inside], *inside]
    files = next(([place / f"{m}.py" for m in ENGINE_MODULES if (place / f"{m}.py").is_file()] for place in places
                  if any((place / f"{m}.py").is_file() for m in ENGINE_MODULES)), [])
    if not files:
        raise ConfigError(f"--submission {upload}: no file of {PACKAGE}/ ({', '.join(f'{m}.py' for m in ENGINE_MODULES)}) "
                          f"in it, in {upload / PACKAGE}, or one folder down; give the folder the student's files "
                          f"were uploaded to, e.g. --submission /autograder/submission")
    copy = scratch / folder.name
    shutil.copytree(folder, copy)
    for file in files:
        shutil.copyfile(file, copy / PACKAGE / file.name)
    print(f"graded with {', '.join(f.name for f in files)} from {files[0].parent}", flush=True)
    return copy


def grade_command(folder: Path, parts: str | None, timeout: float, training: bool, gradescope: Path | None,
                  submission: Path | None = None) -> int:
    """The CLI: print each part's report, the total, and optionally write results.json."""
    folder = assignment_folder(folder)
    chosen_parts(folder, parts, training)  # unusable input is refused before any work starts
    if submission is None:
        return report_grade(folder, parts, timeout, training, gradescope)
    with tempfile.TemporaryDirectory(prefix="tinyddpg-submission-") as scratch:
        return report_grade(with_submission(folder, submission, Path(scratch)), parts, timeout, training, gradescope)


def report_grade(folder: Path, parts: str | None, timeout: float, training: bool, gradescope: Path | None) -> int:
    warning = version_warning(folder)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    start = time.monotonic()
    print(f"grading {folder} (time limit {timeout:g} s a part, {timeout * TRAINING_TIME_FACTOR:g} s a training run)",
          flush=True)
    results = grade(folder, parts, timeout, training)
    seconds = time.monotonic() - start
    print("\n".join(map(part_report, results)))
    print(total_line(results, seconds))
    if warning:
        print(warning)
    if gradescope is not None:
        try:
            write_json_atomically(gradescope, gradescope_results(results, seconds, warning))
        except OSError as error:
            raise ConfigError(f"graded, but {gradescope} could not be written ({error.strerror or error}); run again "
                              f"with --gradescope in a folder you can write, e.g. --gradescope results.json") from None
        print(f"Gradescope results written to {gradescope}")
    return 0 if all(r.points == r.max_points for r in results) else 1
