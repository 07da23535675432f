"""Time one tinyddpg DDPG update against a textbook PyTorch DDPG update and against its own matmul floor.

Usage (from the repository root):

    python benchmarks/bench_update.py [--backend numpy|cupy] [--repeats N] [--quick] [--threads N] [--json PATH]
                                      [--update-only] [--before REV] [--busy N[,N...]] [--no-jax] [--size-sweep]

The final table of issue 26 (both shapes; tinyddpg now and at 6a0a208, PyTorch, JAX, floor; without and beside
one busy process; about 3 minutes on a quiet 2-core machine):

    python benchmarks/bench_update.py --update-only --before 6a0a208 --busy 0,1 --repeats 9 --json update.json

What is measured, all in one process:

  update     `DDPG.update(batch)` of tinyddpg (TD target, critic Adam step, actor Adam step, Polyak on both
             targets) and the same update in plain PyTorch written below (no_grad TD target, MSE critic step
             with torch.optim.Adam, actor step on -Q(s, mu(s)).mean() with Adam, in-place Polyak under
             no_grad). Both start from the same float32 weights and get the same batch; both return the
             losses and mean Q as Python floats (a host sync), as a training loop would.
             Shapes: "pendulum"    hidden 400-300, obs 3,  action 1, batch 256
                     "halfcheetah" hidden 256-256, obs 17, action 6, batch 256
  before     with --before REV: the same update by the engine of git revision REV, imported beside this one.
  jax        the same update in JAX with optax's Adam, jitted whole (tests/jax_reference.py, proven equal in
             tests/test_jax_parity.py), when JAX is installed (`pip install -e ".[jax]"`); CPU only.
  floor      the matrix products tinyddpg's update performs, alone, with the same shapes and operand
             layouts (transposed views where the engine uses `.T`), into preallocated outputs. This is what
             the update would cost if everything but the BLAS calls were free. Its FLOP count is printed.
  act        `agent.act(obs)` for one observation (with exploration noise, as in training) against the
             PyTorch actor under no_grad with the same noise and clipping.
  sample     `ReplayBuffer.sample(256)` from a full buffer of 1,000,000 HalfCheetah-sized transitions,
             and that buffer's memory against the raw bytes of its transitions.

How it is timed: each measured thing gets R repeats (--repeats, default 7). A repeat is a block of several
iterations, each timed on its own; the block's median is that repeat's figure. The repeats of the things
being compared are interleaved (tinyddpg, torch, floor, then floor, torch, tinyddpg, ...), so that the noise of
a shared machine hits them alike. Reported: the median over repeats (per iteration), the spread as the
min-max of the repeat medians, and ratios computed per repeat from the paired blocks (median, min-max).
Everything is warmed up first.

How to read it: only ratios of things measured side by side mean much on a noisy machine. `tiny/torch` < 1
means tinyddpg is faster. `update/floor` says how far the whole update is from the cost of its matrix
products alone; 1.0 would mean every elementwise operation, copy and Python call were free.

Threads: --threads N (default 1) is applied to NumPy's BLAS (threadpoolctl), PyTorch (torch.set_num_threads)
and, at 1, to JAX (XLA_FLAGS, set before JAX is imported); the settings in force are printed. --busy 0,1 measures
the updates first alone, then beside one CPU-bound process the benchmark starts and ends itself; the 1-minute
load average is printed beside every row (a "quiet" figure is only quiet if the load says so). Two thread pools
spinning on the same cores slow each other down (see shared/BENCHMARKING.md), so compare at 1 thread, and
treat 2-thread figures in one process with care.

--backend cupy runs tinyddpg on CuPy and PyTorch on CUDA, synchronising both devices before every timer
read; the floor then uses cupy.matmul.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # benchmark the working tree, not some installed copy
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the PyTorch DDPG that the parity tests prove equal to ours

import numpy as np
import threadpoolctl
import torch
from torch_reference import reference_for

from tinyddpg.agent import DDPG, DDPGConfig
from tinyddpg.backend import Backend, get_backend, make_rng
from tinyddpg.buffer import ReplayBuffer
from tinyddpg.errors import ConfigError

BATCH_SIZE = 256


@dataclass(frozen=True)
class Shape:
    name: str
    hidden: tuple[int, ...]
    obs_dim: int
    action_dim: int
    action_bound: float  # actions lie in [-bound, bound]
    batch: int = BATCH_SIZE


SHAPES = (Shape("pendulum", (400, 300), 3, 1, 2.0), Shape("halfcheetah", (256, 256), 17, 6, 1.0))
HALFCHEETAH = SHAPES[1]
# --size-sweep: when does a bigger network or batch make a GPU pay off? (HalfCheetah-sized inputs)
SIZE_SWEEP = tuple(Shape(f"B={batch}", (width, width), 17, 6, 1.0, batch)
                   for width in (256, 512, 1024) for batch in (256, 1024))


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    repeats: int
    update_iters: int  # iterations per timed block of updates / floors
    call_iters: int  # iterations per timed block of act() / sample()
    warmup: int
    buffer_capacity: int


def make_plan(args) -> Plan:
    if args.quick:
        return Plan(repeats=2, update_iters=3, call_iters=20, warmup=2, buffer_capacity=20_000)
    return Plan(repeats=args.repeats, update_iters=20, call_iters=300, warmup=10, buffer_capacity=1_000_000)


# --- devices and synchronisation ------------------------------------------------------------------------------

@dataclass
class Device:
    """Where each engine runs, and how to wait for both before reading a timer."""

    backend: Backend
    torch_device: torch.device

    def sync(self) -> None:
        if self.backend.name == "cupy":
            import cupy

            cupy.cuda.Device().synchronize()
            torch.cuda.synchronize()


def make_device(backend_name: str) -> Device:
    backend = get_backend(backend_name, dtype="float32")  # ConfigError when CuPy or a GPU is missing
    if backend.name == "cupy":
        if not torch.cuda.is_available():
            raise ConfigError("backend 'cupy' needs PyTorch with CUDA for the comparison, but "
                              f"torch {torch.__version__} finds no CUDA device; install a CUDA build of PyTorch")
        return Device(backend, torch.device("cuda"))
    return Device(backend, torch.device("cpu"))


# --- timing ---------------------------------------------------------------------------------------------------

def time_block(fn, iters: int, sync) -> float:
    """Median seconds of one call of fn over `iters` calls, each timed on its own (device synced)."""
    times = []
    for _ in range(iters):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: dict, plan_repeats: int, iters: int, warmup: int, sync) -> dict[str, list[float]]:
    """Warm each fn up, then time R blocks of each, interleaved; the order reverses every repeat."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    names = list(fns)
    medians: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(plan_repeats):
        for name in (names if repeat % 2 == 0 else names[::-1]):
            medians[name].append(time_block(fns[name], iters, sync))
    return medians


@dataclass
class Stat:
    """Median of the repeat medians and their min-max, in the unit given."""

    median: float
    low: float
    high: float
    unit: str

    @classmethod
    def of(cls, values, scale: float, unit: str) -> Stat:
        values = [v * scale for v in values]
        return cls(statistics.median(values), min(values), max(values), unit)

    def text(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"


def paired_ratio(a: list[float], b: list[float]) -> Stat:
    return Stat.of([x / y for x, y in zip(a, b)], 1.0, "ratio")


# --- the agents ---------------------------------------------------------------------------------------------

def make_agent(shape: Shape, backend: Backend, seed: int = 0, engine=None) -> DDPG:
    """A DDPG agent of this tree's engine, or of `engine` (the agent module of engine_at(...), with its own
    backend of the same name); the same seed gives both the same initial weights."""
    low, high = -shape.action_bound * np.ones(shape.action_dim), shape.action_bound * np.ones(shape.action_dim)
    if engine is None:
        config = DDPGConfig(hidden=shape.hidden, batch_size=shape.batch)
        return DDPG(shape.obs_dim, shape.action_dim, low, high, config, backend=backend, rng=make_rng(seed))
    own_backend = engine.get_backend(backend.name, dtype=backend.dtype_name)
    config = engine.DDPGConfig(hidden=shape.hidden, batch_size=shape.batch)
    return engine.DDPG(shape.obs_dim, shape.action_dim, low, high, config, backend=own_backend, rng=engine.make_rng(seed))


# --- the peers beside this tree's engine: the engine before (another commit), JAX ------------------------------

def engine_at(rev: str, into: Path) -> types.ModuleType:
    """The core engine as it stood at git revision `rev`, extracted into `into` and imported as the package
    `tinyddpg_before` (its own modules, not this tree's), so that before and after are timed in one process.
    Only the agent module and what it imports are loaded (the package's __init__, which pulls in the training
    loop, is skipped). Raises ConfigError when git cannot produce that revision."""
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", rev, "tinyddpg"],
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise ConfigError(f"--before {rev}: git archive failed ({done.stderr.decode().strip()}); give a commit of "
                          f"this repository, e.g. --before 6a0a208")
    subprocess.run(["tar", "-x", "-C", str(into)], input=done.stdout, check=True)
    package = types.ModuleType("tinyddpg_before")
    package.__path__ = [str(into / "tinyddpg")]
    sys.modules["tinyddpg_before"] = package
    return importlib.import_module("tinyddpg_before.agent")


JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def load_jax(threads: int):
    """tests/jax_reference.py with JAX on the CPU at `threads` threads (XLA reads its flags when JAX is imported:
    one thread is the flags above; more is XLA's default, one per core), or None when JAX is not installed."""
    if threads == 1:
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {JAX_ONE_THREAD}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax_reference
    except ImportError:
        return None
    return jax_reference


@contextlib.contextmanager
def busy_processes(count: int):
    """`count` CPU-bound processes (a pure Python loop each) running beside the measurement, ended after it."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        if processes:
            time.sleep(1.0)  # let them start spinning
        yield
    finally:
        for process in processes:
            process.terminate()
            process.wait()


# --- data ---------------------------------------------------------------------------------------------------

def random_rows(rng: np.random.Generator, n: int, shape: Shape) -> np.ndarray:
    """n plausible transition rows [obs | action | reward | next_obs | terminated] in float32."""
    o, a = shape.obs_dim, shape.action_dim
    rows = np.empty((n, 2 * o + a + 2), dtype=np.float32)
    rows[:, :o] = rng.standard_normal((n, o), dtype=np.float32)
    rows[:, o:o + a] = rng.uniform(-shape.action_bound, shape.action_bound, (n, a))
    rows[:, o + a] = rng.standard_normal(n, dtype=np.float32)
    rows[:, o + a + 1:2 * o + a + 1] = rng.standard_normal((n, o), dtype=np.float32)
    rows[:, -1] = rng.random(n) < 0.01
    return rows


def filled_buffer(capacity: int, shape: Shape, backend: Backend, seed: int = 1, chunk: int = 100_000) -> ReplayBuffer:
    """A full buffer, written straight into `buffer.rows` in chunks (no per-transition add())."""
    rng = make_rng(seed)
    buffer = ReplayBuffer(capacity, shape.obs_dim, shape.action_dim, backend=backend, rng=make_rng(seed + 1))
    for start in range(0, capacity, chunk):
        stop = min(start + chunk, capacity)
        buffer.rows[start:stop, :] = backend.to_device(random_rows(rng, stop - start, shape))
    buffer.size, buffer.next_index = capacity, 0
    return buffer



# --- the matmul floor ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Product:
    """C (m, n) = A (m, k) @ B (k, n); a_t / b_t: the operand is a transposed view, as `x.T` / `W.T` in nn.py."""

    what: str
    m: int
    k: int
    n: int
    a_t: bool = False
    b_t: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n


def forward_products(net: str, sizes, batch: int) -> list[Product]:
    """Dense.forward: x (B, in) @ W (in, out) per layer."""
    return [Product(f"{net} fwd L{i}", batch, fi, fo) for i, (fi, fo) in enumerate(itertools.pairwise(sizes))]


def backward_products(net: str, sizes, batch: int, param_grads: bool, input_grad_first: bool) -> list[Product]:
    """Sequential.backward, last layer first: dW = x^T @ dout (if param_grads), then dx = dout @ W^T
    (for every layer but the first, and for the first too if input_grad_first)."""
    products = []
    for i in reversed(range(len(sizes) - 1)):
        fi, fo = sizes[i], sizes[i + 1]
        if param_grads:
            products.append(Product(f"{net} dW L{i}", fi, batch, fo, a_t=True))
        if i > 0 or input_grad_first:
            products.append(Product(f"{net} dx L{i}", batch, fo, fi, b_t=True))
    return products


def update_products(shape: Shape) -> list[Product]:
    """The matrix products of one tinyddpg DDPG.update, in the order agent.py performs them."""
    actor = (shape.obs_dim, *shape.hidden, shape.action_dim)
    critic = (shape.obs_dim + shape.action_dim, *shape.hidden, 1)
    batch = shape.batch
    return [
        *forward_products("target actor", actor, batch),  # 1. TD target
        *forward_products("target critic", critic, batch),
        *forward_products("critic", critic, batch),  # 2. critic step
        *backward_products("critic", critic, batch, param_grads=True, input_grad_first=False),
        *forward_products("actor", actor, batch),  # 3. actor step
        *forward_products("critic", critic, batch),
        *backward_products("critic", critic, batch, param_grads=False, input_grad_first=True),  # dQ/da only
        *backward_products("actor", actor, batch, param_grads=True, input_grad_first=False),
    ]


def matmul_floor(products: list[Product], device: Device, seed: int = 2):
    """A function that runs all the products into preallocated outputs, with the engine's operand layouts."""
    if device.backend.name == "cupy":
        import cupy as lib
    else:
        lib = np
    rng = make_rng(seed)

    def operand(rows, cols, transposed):
        shape = (cols, rows) if transposed else (rows, cols)
        array = lib.asarray(rng.standard_normal(shape, dtype=np.float32))
        return array.T if transposed else array

    calls = [(operand(p.m, p.k, p.a_t), operand(p.k, p.n, p.b_t), lib.empty((p.m, p.n), dtype=lib.float32))
             for p in products]

    def run():
        for a, b, c in calls:
            lib.matmul(a, b, out=c)

    return run


# --- measurements -------------------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a results table; times in the Stat's unit."""

    what: str
    tinyddpg: Stat
    torch: Stat | None = None
    ratio: Stat | None = None
    floor: Stat | None = None
    floor_ratio: Stat | None = None
    extra: dict = field(default_factory=dict)
    before: Stat | None = None  # the engine at --before REV
    before_floor_ratio: Stat | None = None
    jax: Stat | None = None
    jax_ratio: Stat | None = None  # tinyddpg / JAX
    before_jax_ratio: Stat | None = None


def measure_update(shape: Shape, device: Device, plan: Plan, before=None, jax_reference=None, busy: int = 0) -> Row:
    """One update of tinyddpg, of the engine before (if given), of PyTorch, of JAX (if given) and the floor, all
    from the same initial weights on the same batch, interleaved; the load average is read before and after."""
    backend = device.backend
    agent = make_agent(shape, backend)
    peer = reference_for(agent, torch.float32, device.torch_device)
    batch = filled_buffer(10_000, shape, backend, chunk=10_000).sample(shape.batch)  # views, as in training
    host_batch = [backend.to_host(x) for x in batch]
    tbatch = peer.tensors(host_batch)
    products = update_products(shape)
    fns = {"tinyddpg": lambda: agent.update(batch), "torch": lambda: peer.update(*tbatch)}
    if before is not None:
        old_agent = make_agent(shape, backend, engine=before)
        fns["before"] = lambda: old_agent.update(batch)  # the same arrays (neither engine writes into a batch)
    if jax_reference is not None:
        jax_peer = jax_reference.jax_reference_for(agent)
        jbatch = jax_peer.arrays(host_batch)
        fns["jax"] = lambda: jax_peer.update(*jbatch)
    fns["floor"] = matmul_floor(products, device)
    load_start = os.getloadavg()[0]
    t = interleaved(fns, plan.repeats, plan.update_iters, plan.warmup, device.sync)
    flops = sum(p.flops for p in products)
    ms = {name: Stat.of(times, 1e3, "ms") for name, times in t.items()}
    label = f"{shape.name} {'-'.join(map(str, shape.hidden))}/{shape.obs_dim}/{shape.action_dim}"
    row = Row(f"{label}{f' +{busy} busy' if busy else ''}", ms["tinyddpg"], ms["torch"],
              paired_ratio(t["tinyddpg"], t["torch"]), ms["floor"], paired_ratio(t["tinyddpg"], t["floor"]),
              {"floor_mflop": flops / 1e6, "floor_products": len(products),
               "floor_gflops": flops / (ms["floor"].median / 1e3) / 1e9, "busy_processes": busy,
               "load_1min_start": load_start, "load_1min_end": os.getloadavg()[0]})
    if before is not None:
        row.before, row.before_floor_ratio = ms["before"], paired_ratio(t["before"], t["floor"])
    if jax_reference is not None:
        row.jax, row.jax_ratio = ms["jax"], paired_ratio(t["tinyddpg"], t["jax"])
        if before is not None:
            row.before_jax_ratio = paired_ratio(t["before"], t["jax"])
    return row


def measure_act(shape: Shape, device: Device, plan: Plan) -> Row:
    agent = make_agent(shape, device.backend)
    peer = reference_for(agent, torch.float32, device.torch_device)
    obs = make_rng(3).standard_normal(shape.obs_dim)  # float64, as environments return it
    noise_rng = make_rng(4)
    low, high, scale = agent.low, agent.high, agent.action_scale

    def torch_act():
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32, device=device.torch_device)[None, :]
            action = peer.actor(x)[0].cpu().numpy()
        return np.clip(action + scale * noise_rng.normal(0.0, 0.1, action.shape), low, high)

    t = interleaved({"tinyddpg": lambda: agent.act(obs), "torch": torch_act}, plan.repeats, plan.call_iters,
                    plan.warmup, device.sync)
    return Row(f"act(obs) {shape.name}", Stat.of(t["tinyddpg"], 1e6, "us"), Stat.of(t["torch"], 1e6, "us"),
               paired_ratio(t["tinyddpg"], t["torch"]))


def measure_sample(device: Device, plan: Plan) -> Row:
    shape = HALFCHEETAH
    start = time.perf_counter()
    buffer = filled_buffer(plan.buffer_capacity, shape, device.backend)
    fill_s = time.perf_counter() - start
    t = interleaved({"tinyddpg": lambda: buffer.sample(BATCH_SIZE)}, plan.repeats, plan.call_iters, plan.warmup,
                    device.sync)
    raw = plan.buffer_capacity * (2 * shape.obs_dim + shape.action_dim + 2) * 4
    extra = {"capacity": plan.buffer_capacity, "nbytes": buffer.nbytes, "rows_nbytes": int(buffer.rows.nbytes),
             "raw_bytes": raw, "fill_seconds": fill_s}
    return Row(f"sample(256) from {plan.buffer_capacity:,} halfcheetah", Stat.of(t["tinyddpg"], 1e6, "us"),
               extra=extra)


# --- settings and report --------------------------------------------------------------------------------------

def apply_threads(n: int) -> None:
    """The same thread count for NumPy's BLAS and for PyTorch (intra-op; its MKL and OpenMP follow)."""
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    torch.set_num_threads(n)


def tinyddpg_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("tinyddpg")
    except PackageNotFoundError:
        installed = "not installed (working tree)"
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{installed}, git {commit or 'unknown'}"


def settings(args, device: Device) -> dict:
    pools = [{k: info.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
             | {"library": os.path.basename(info.get("filepath", ""))} for info in threadpoolctl.threadpool_info()]
    return {
        "backend": device.backend.name, "torch_device": str(device.torch_device), "dtype": "float32",
        "threads_requested": args.threads,
        "thread_policy": f"--threads {args.threads} applied to NumPy BLAS (threadpoolctl) and torch (set_num_threads)",
        "threadpools": pools, "torch_num_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "thread_env": {k: os.environ[k] for k in sorted(os.environ)
                       if k.endswith("_NUM_THREADS") or k in ("OPENBLAS_CORETYPE",)},
        "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__, "tinyddpg": tinyddpg_version(),
        "quick": args.quick,
    }


def print_settings(info: dict, plan: Plan) -> None:
    print("== settings")
    print(f"backend {info['backend']} (torch on {info['torch_device']}), {info['dtype']}, "
          f"python {info['python']}, numpy {info['numpy']}, torch {info['torch']}, tinyddpg {info['tinyddpg']}")
    print(f"CPUs: {info['cpu_count']} ({info['cpus_usable']} usable); {info['thread_policy']}")
    for pool in info["threadpools"]:
        print(f"  threadpoolctl: {pool['user_api']}/{pool['internal_api']} {pool['library']} "
              f"version {pool['version']}: {pool['num_threads']} threads")
    print(f"  torch.get_num_threads() = {info['torch_num_threads']}, interop threads {info['torch_interop_threads']}"
          f"; thread env vars: {info['thread_env'] or 'none'}")
    print(f"JAX peer: {info['jax']}")
    print(f"plan: {plan.repeats} repeats; blocks of {plan.update_iters} updates / {plan.call_iters} calls; "
          f"warm-up {plan.warmup}; figures are median (min-max) of the repeat medians")


def fmt(stat, digits=2):
    return stat.text(digits) if stat is not None else "-"


HEADER = f"{'what':<38} {'tinyddpg':>20} {'torch':>20} {'tiny/torch':>17}"


def print_update_table(updates: list[Row]) -> None:
    print("\n== one DDPG update, ms per update (batch 256 unless named); ratios are paired per repeat")
    print(f"{'what':<38} {'tinyddpg':>20} {'before':>20} {'torch':>20} {'jax':>20} {'floor':>20}")
    for row in updates:
        print(f"{row.what:<38} {fmt(row.tinyddpg):>20} {fmt(row.before):>20} {fmt(row.torch):>20} "
              f"{fmt(row.jax):>20} {fmt(row.floor):>20}")
    print(f"{'ratios':<38} {'tiny/jax':>17} {'tiny/floor':>17} {'tiny/torch':>17} {'before/jax':>17} "
          f"{'before/floor':>17}  load (1 min) start-end")
    for row in updates:
        e = row.extra
        print(f"{row.what:<38} {fmt(row.jax_ratio):>17} {fmt(row.floor_ratio):>17} {fmt(row.ratio):>17} "
              f"{fmt(row.before_jax_ratio):>17} {fmt(row.before_floor_ratio):>17}  "
              f"{e['load_1min_start']:.2f}-{e['load_1min_end']:.2f}")
    for row in updates:
        e = row.extra
        print(f"  floor {row.what}: {e['floor_products']} products, {e['floor_mflop']:.1f} MFLOP, "
              f"{e['floor_gflops']:.1f} GFLOP/s")


def print_tables(calls: list[Row], sample: Row) -> None:
    print("\n== acting and sampling, microseconds per call")
    print(HEADER)
    for row in [*calls, sample]:
        print(f"{row.what:<38} {fmt(row.tinyddpg, 1):>20} {fmt(row.torch, 1):>20} {fmt(row.ratio):>17}")
    e = sample.extra
    print(f"  buffer memory: nbytes {e['nbytes'] / 1e6:.1f} MB (rows array {e['rows_nbytes'] / 1e6:.1f} MB) vs raw "
          f"transitions {e['raw_bytes'] / 1e6:.1f} MB = {e['nbytes'] / e['raw_bytes']:.3f}x; "
          f"filled in {e['fill_seconds']:.1f} s")


def write_json(path: str, info: dict, rows: list[Row]) -> None:
    Path(path).write_text(json.dumps({"settings": info, "results": [asdict(r) for r in rows]}, indent=2) + "\n")
    print(f"\nwrote {path}")


def busy_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",")]
    if min(counts) < 0:
        raise ValueError(text)
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per measured thing (default 7)")
    parser.add_argument("--quick", action="store_true", help="tiny run: 2 repeats, few iterations, small buffer")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for NumPy BLAS, torch and JAX (default 1; JAX: XLA flags, 1 or XLA's default)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--size-sweep", action="store_true",
                        help="only the update, at hidden 256-256 to 1024-1024 and batch 256 and 1024 (obs 17, action 6)")
    parser.add_argument("--update-only", action="store_true", help="only the update at the two shapes (no act, sample)")
    parser.add_argument("--before", metavar="REV",
                        help="also time the engine of git revision REV (e.g. 6a0a208) in the same process")
    parser.add_argument("--no-jax", action="store_true", help="leave the JAX peer out (it is timed when installed)")
    parser.add_argument("--busy", type=busy_counts, default=[0], metavar="N[,N...]",
                        help="the updates with N CPU-bound processes of its own running beside (e.g. 0,1: "
                             "without, then beside one; default 0)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        device = make_device(args.backend)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    apply_threads(args.threads)
    jax_reference = None if args.no_jax or device.backend.name != "numpy" else load_jax(args.threads)
    plan = make_plan(args)
    info = settings(args, device)
    info["jax"] = jax_settings(jax_reference, args, device)
    print_settings(info, plan)
    with tempfile.TemporaryDirectory() as before_dir:
        try:
            before = engine_at(args.before, Path(before_dir)) if args.before else None
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        shapes = SIZE_SWEEP if args.size_sweep else SHAPES
        updates = []
        for busy in args.busy:
            with busy_processes(busy):
                updates += [measure_update(shape, device, plan, before, jax_reference, busy) for shape in shapes]
    print_update_table(updates)
    print_goals(updates)
    if args.size_sweep or args.update_only:
        if args.json:
            write_json(args.json, info, updates)
        return 0
    calls = [measure_act(shape, device, plan) for shape in SHAPES]
    sample = measure_sample(device, plan)
    print_tables(calls, sample)
    if args.json:
        write_json(args.json, info, updates + calls + [sample])
    return 0


def jax_settings(jax_reference, args, device: Device) -> str:
    if args.no_jax:
        return "left out (--no-jax)"
    if device.backend.name != "numpy":
        return "left out: the JAX peer runs on the CPU only (the numpy backend)"
    if jax_reference is None:
        return "not installed (pip install -e '.[jax]')"
    import jax
    import optax

    flags = os.environ.get("XLA_FLAGS", "none")
    return f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].platform}, XLA_FLAGS: {flags}"


def print_goals(updates: list[Row]) -> None:
    """Issue 26's goals beside what was measured: tinyddpg / JAX <= 1.0, update / floor <= 1.15 (quiet)."""
    def verdict(ratio: Stat | None, goal: float) -> str:
        return "-" if ratio is None else f"{ratio.median:.2f} ({'met' if ratio.median <= goal else 'NOT met'})"

    for row in updates:
        jax_goal, floor_goal = verdict(row.jax_ratio, 1.0), verdict(row.floor_ratio, 1.15)
        print(f"goal {row.what}: tiny/jax <= 1.0: {jax_goal}; update/floor <= 1.15 (quiet): {floor_goal}")


if __name__ == "__main__":
    sys.exit(main())
