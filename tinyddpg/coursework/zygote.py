"""The processes that run a student's code: one fresh process per part, forked from a zygote.

The grader (grade.py) starts one zygote, `python -m tinyddpg.coursework.zygote`, with no arguments, in an empty
scratch folder, with an environment that names no file of the grader's: the path of results.json is never in a
student process's argv, environment, memory or open files. The zygote loads numpy, the engine, the checks and
gymnasium once, then for each part the grader asks for (one JSON line on its stdin) forks a child that:

- starts a session of its own (so the child and anything it starts can be killed as a group),
- has /dev/null as stdin and one pipe as stdout and stderr, and no other file descriptor but the verdict pipe,
- grades the part (run_part.py) and writes its verdict to the verdict pipe behind a random token drawn for that
  child, then exits.

The zygote reads both pipes as they fill, keeping the last OUTPUT_KEPT bytes of what the child printed and at
most VERDICT_LIMIT bytes of verdict, so a child that prints 600 MB costs the grader kilobytes. It kills the child's
process group when the part's watchdog runs out (the child's own alarm failed to stop it) and once the child has
ended (so nothing it started lives on), then answers the grader with one JSON line. Nothing a part does to its
process (numpy, the engine, builtins, the verdict) can reach another part's. Being a fork, a child starts in
milliseconds (benchmarks/bench_grader.py measures it).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUTPUT_KEPT = 3000  # bytes of a part's prints kept: the last ones
VERDICT_LIMIT = 1 << 20  # bytes of verdict read from a child at most
ENDED_GRACE = 2.0  # seconds to drain the pipes after the child ended and its group was killed
ENGINE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding this tinyddpg package
SAFE_VARIABLES = ("PATH", "HOME", "TMPDIR", "LANG", "SYSTEMROOT")  # all a child needs from the grader's environment


class Tail:
    """The last `keep` bytes written to it, and how many came in all."""

    def __init__(self, keep: int):
        self.keep, self.data, self.total = keep, b"", 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data = (self.data + chunk)[-self.keep:]


def child(folder: str, part: str, timeout: float, verdict_fd: int, output_fd: int, token: bytes) -> None:
    """In the forked child: grade the part, write the token and the verdict, and end the process."""
    status = 0
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.closerange(3, verdict_fd)
        os.closerange(verdict_fd + 1, os.sysconf("SC_OPEN_MAX"))
        from .run_part import grade_part
        verdict = token + json.dumps(grade_part(Path(folder), part, timeout)).encode()
        sys.stdout.flush()
        sys.stderr.flush()
        with os.fdopen(verdict_fd, "wb") as pipe:
            pipe.write(verdict)
    except BaseException:  # no verdict: its absence tells the grader
        status = 70
    finally:
        os._exit(status)


def run_forked(folder: str, part: str, timeout: float, patience: float) -> dict:
    """Grade one part in a fresh child; {"checks" (None when no valid verdict came), "output", "printed",
    "ended" (why there is no verdict, or ''), "seconds"}."""
    token = secrets.token_hex(16).encode()
    verdict_read, verdict_write = os.pipe()
    output_read, output_write = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(verdict_read)
        os.close(output_read)
        child(folder, part, timeout, verdict_write, output_write, token)
    os.close(verdict_write)
    os.close(output_write)
    output, verdict = Tail(OUTPUT_KEPT), bytearray()
    selector = selectors.DefaultSelector()
    selector.register(output_read, selectors.EVENT_READ, output.add)
    selector.register(verdict_read, selectors.EVENT_READ,
                      lambda chunk: verdict.extend(chunk[:VERDICT_LIMIT - len(verdict)]))
    deadline, status, ended = start + patience, None, ""
    while selector.get_map():
        for key, _ in selector.select(timeout=0.05):
            chunk = os.read(key.fd, 1 << 16)
            if chunk:
                key.data(chunk)
            else:
                selector.unregister(key.fd)
                os.close(key.fd)
        if status is None:
            done, status = os.waitpid(pid, os.WNOHANG)
            status = status if done else None
            if done:  # anything the child started dies with it; the pipes then close
                kill_group(pid)
                deadline = min(deadline, time.monotonic() + ENDED_GRACE)
        if time.monotonic() > deadline:
            if status is None:
                ended = (f"killed {patience:g} s after it started: it ran past its time limit of {timeout:g} s and "
                         f"did not stop at the alarm")
            kill_group(pid)
            break
    for key in list(selector.get_map().values()):
        os.close(key.fd)
    selector.close()
    if status is None:
        status = os.waitpid(pid, 0)[1]
    checks = valid_verdict(bytes(verdict), token)
    if checks is None and not ended:
        code = os.waitstatus_to_exitcode(status)
        ended = (f"the process grading it ended with exit status {code}" if code >= 0 else
                 f"the process grading it was killed by signal {-code} ({signal.Signals(-code).name})")
    return {"checks": checks, "output": output.data.decode(errors="replace"), "printed": output.total,
            "ended": ended, "seconds": time.monotonic() - start}


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def valid_verdict(data: bytes, token: bytes) -> list[dict] | None:
    """The checks a child reported behind its token, or None when it reported none that is well formed."""
    if not data.startswith(token):
        return None
    try:
        checks = json.loads(data[len(token):])
    except ValueError:
        return None
    fields = {"title": str, "passed": bool, "message": str}
    well_formed = isinstance(checks, list) and checks and all(
        isinstance(c, dict) and c.keys() == fields.keys() and all(isinstance(c[k], t) for k, t in fields.items())
        for c in checks)
    return checks if well_formed else None


def serve() -> None:
    """The zygote: preload, then one JSON answer on stdout per JSON request on stdin, until stdin closes."""
    from . import run_part  # noqa: F401 (the engine, numpy, the checks and gymnasium, loaded once for every fork)
    for line in sys.stdin:
        request = json.loads(line)
        answer = run_forked(request["folder"], request["part"], request["timeout"], request["patience"])
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def child_environment() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k in SAFE_VARIABLES or k.startswith("LC_")}
    path = os.pathsep.join(filter(None, [str(ENGINE_ROOT), os.environ.get("PYTHONPATH", "")]))
    return {**kept, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Zygote:
    """The grader's end: start the zygote in `scratch`, ask it for parts, restart it if a part took it down."""

    STARTUP = 120.0  # seconds the zygote may take to load before a part's watchdog starts

    def __init__(self, scratch: Path):
        self.scratch, self.process = scratch, None

    def grade(self, folder: Path, part: str, timeout: float, patience: float) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, "-m", __name__], cwd=self.scratch,
                                            env=child_environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        request = {"folder": str(folder.resolve()), "part": part, "timeout": timeout, "patience": patience}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            line = self.answer(patience + self.STARTUP + 10.0)
            return json.loads(line)
        except (OSError, ValueError, TimeoutError):
            self.close()
            return {"checks": None, "output": "", "printed": 0, "seconds": 0.0,
                    "ended": "the process grading it took down the grader's helper process"}

    def answer(self, patience: float) -> bytes:
        """One line from the zygote, or TimeoutError/ValueError when none comes."""
        line, deadline, fd = b"", time.monotonic() + patience, self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise ValueError("the zygote ended")
                line += chunk
        return line

    def close(self) -> None:
        if self.process is not None:
            kill_group(self.process.pid)
            self.process.wait()
            self.process = None


@functools.cache
def shared() -> Zygote:
    """One zygote for the life of this process, started on first use and ended at exit: a grader that grades
    many folders (a batch, a notebook, the tests) loads the engine once."""
    scratch = tempfile.TemporaryDirectory(prefix="tinyddpg-grade-")
    zygote = Zygote(Path(scratch.name))
    atexit.register(scratch.cleanup)
    atexit.register(zygote.close)
    return zygote


if __name__ == "__main__":
    serve()
