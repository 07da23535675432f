"""One part graded, in the process forked for it alone (zygote.py): the student's code is planted into the engine
(planting.py), checked for its origin (integrity.py), then the part's checks run under the part's time limit (an
alarm). The training parts plant every part of the assignment at once. The verdict is a list of checks, each
{"title", "passed", "message"}; zygote.py hands it to the grader, which alone writes results.
"""

from __future__ import annotations

import signal
import traceback
from pathlib import Path

from . import integrity
from .assignment import read_manifest
from .checks import Mismatch, checks_for
from .parts import PARTS_BY_NAME, TD3_PARTS
from .planting import plant
from .training import TRAINING_RUNS, training_check

LOAD_TITLE = "your function can be read and compiled"


def describe(error: BaseException, folder: Path) -> str:
    """One line a student can act on: the error, and the line of their code it came from."""
    if isinstance(error, NotImplementedError):
        return f"not written yet: the stub is still there (NotImplementedError: {error})"
    if isinstance(error, SyntaxError):
        return f"SyntaxError in {error.filename} line {error.lineno}: {error.msg}"
    mine = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(folder))]
    where = f" (at {mine[-1].filename} line {mine[-1].lineno}: {mine[-1].line})" if mine else ""
    hint = (" (a part's file is loaded beside the engine's other modules: keep your helpers in the part's own file)"
            if isinstance(error, ImportError) else "")
    return f"{type(error).__name__}: {error}{where}{hint}".replace("\n", " ")


class PartTimeout(BaseException):
    """Raised by the alarm when a part runs past its time limit (a BaseException: `except Exception` in the
    student's code does not swallow it)."""


def stop_the_part(signum, frame):
    raise PartTimeout


def stopped(timeout: float) -> str:
    return f"stopped by the part's alarm at its time limit, {timeout:g} s: an endless loop, or far too slow"


def grade_part(folder: Path, part_name: str, timeout: float) -> list[dict]:
    """The part's checks, each {"title", "passed", "message"}, with the student's code planted for them only."""
    manifest = read_manifest(folder)
    training = part_name in TRAINING_RUNS
    parts = [PARTS_BY_NAME[name] for name in (manifest if training else [part_name])]
    td3 = any(name in TD3_PARTS for name in manifest)
    checks = [lambda: training_check(part_name, td3)] if training else checks_for(part_name, td3)
    titles = [getattr(check, "title", f"trains with all of your parts ({'TD3' if td3 else 'DDPG'})") for check in checks]
    results = []
    signal.signal(signal.SIGALRM, stop_the_part)
    signal.setitimer(signal.ITIMER_REAL, timeout)  # importing the student's module counts too
    try:
        try:
            why = integrity.read_violation(folder, parts, [PARTS_BY_NAME[name] for name in manifest])
            planted = [] if why else plant(folder, parts)
        except PartTimeout:
            raise
        except BaseException as error:  # the student's file does not parse, its import fails, the function is missing
            return [{"title": LOAD_TITLE, "passed": False, "message": describe(error, folder)}]
        why = why or integrity.origin_violation(planted, folder)
        if why:
            return [{"title": integrity.TITLE, "passed": False, "message": f"scored 0: {why}"}]
        integrity.arm(planted, folder)
        for check, title in zip(checks, titles):
            results.append({"title": title, "passed": False, "message": ""})
            try:
                results[-1]["message"] = check() or ""  # a passing check may say what it measured
                results[-1]["passed"] = True
            except (KeyboardInterrupt, PartTimeout):
                raise
            except Mismatch as mismatch:
                results[-1]["message"] = str(mismatch)
            except BaseException as error:  # anything the student's code raises, SystemExit included
                results[-1]["message"] = describe(error, folder)
    except PartTimeout:
        if not results:
            return [{"title": LOAD_TITLE, "passed": False, "message": stopped(timeout)}]
        results[-1]["message"] = stopped(timeout)
        results += [{"title": title, "passed": False, "message": "not run: the part ran out of time"}
                    for title in titles[len(results):]]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if integrity.seen:
        return [{"title": integrity.TITLE, "passed": False, "message": f"scored 0: {integrity.seen[0]}"}]
    return results
