"""The command line: tinyddpg train | evaluate | plot | gradcheck | sweep | assignment | grade."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import __version__
from ..backend import BACKEND_CHOICES, BACKEND_ENV_VAR, CUPY_INSTALL_HINT, cupy_problem
from ..errors import ConfigError, TinyDDPGError, command_line_language, resume_text
from .config import PRESETS, default_text, field_help, field_names, parse_value, preset, with_overrides
from .folder import CONFIG_FILE, RunFolderLock
from .stats import LAST_K

OPTION_ALIASES = {"env_id": ["--env"]}
DEFAULT_PRESET = "pendulum"


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def add_setting_options(parser: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    """One option per config field, its help taken from the field's documentation and the pendulum default."""
    group = parser.add_argument_group("settings (each overrides the preset; default shown is the pendulum preset's)")
    for name in field_names():
        if name in exclude:
            continue
        group.add_argument(option_name(name), *OPTION_ALIASES.get(name, []), dest=name, metavar="VALUE",
                           default=None, help=f"{field_help(name)} [pendulum: {default_text(name)}]")


def settings_from(args: argparse.Namespace) -> dict[str, object]:
    return {name: parse_value(name, getattr(args, name)) for name in field_names()
            if getattr(args, name, None) is not None}


def backend_from_environment(given: dict[str, object], applies: bool = True) -> str | None:
    """$TINYDDPG_BACKEND, checked, when --backend is not given (an explicit --backend wins); None when unset.
    A name that is not a backend is refused; so is cupy where CuPy cannot run, when the variable applies."""
    value = os.environ.get(BACKEND_ENV_VAR, "").strip()
    if "backend" in given or not value:
        return None
    if value not in BACKEND_CHOICES:
        raise ConfigError(f"{BACKEND_ENV_VAR}={value!r} is not a backend: set it to one of {', '.join(BACKEND_CHOICES)} "
                          f"(export {BACKEND_ENV_VAR}=numpy), or unset it (unset {BACKEND_ENV_VAR}) to train on NumPy")
    if applies and value == "cupy" and cupy_problem() is not None:
        raise ConfigError(f"{BACKEND_ENV_VAR}=cupy asks for the GPU, but {cupy_problem()}. To fix: {CUPY_INSTALL_HINT}"
                          f"`--backend numpy` (or unset {BACKEND_ENV_VAR})")
    return value


def command_train(args) -> int:
    from .train import PLOT_FILE, check_new_run_folder, saved_config, train

    overrides = settings_from(args)
    if args.resume:
        beside = [option_name(n) for n in overrides if n != "steps"] + [f"--{name}" for name in ("preset", "out")
                                                                        if getattr(args, name) is not None]
        if beside:
            raise ConfigError(f"--resume continues a run with its saved settings in its own folder; only --steps may "
                              f"change (got {', '.join(beside)}): continue it with "
                              f"{resume_text(args.resume)} [--steps N], or train a new run with other settings in another "
                              f"folder (--out)")
    environment_backend = backend_from_environment(overrides, applies=not args.resume)
    backend_note = ""
    if args.resume:
        out_dir = Path(args.resume)
        RunFolderLock(out_dir).check_free()  # a folder another process trains in is refused first
        config, resume = saved_config(out_dir)
        config = with_overrides(config, overrides)
        if environment_backend not in (None, config.backend):
            backend_note = f"the run's own; {BACKEND_ENV_VAR}={environment_backend} is for new runs"
    else:
        if environment_backend is not None:
            overrides["backend"], backend_note = environment_backend, f"from {BACKEND_ENV_VAR}"
        config, resume = with_overrides(preset(args.preset or DEFAULT_PRESET), overrides), False
        out_dir = Path(args.out or f"runs/{args.preset or DEFAULT_PRESET}-seed{config.seed}")
        RunFolderLock(out_dir).check_free()
        check_new_run_folder(out_dir)
    if args.resume and not resume:
        print(f"{out_dir} has no checkpoint yet (its run stopped before the first one): starting it over from "
              f"its {CONFIG_FILE}", file=sys.stderr)
    train(config, out_dir, resume=resume, show_progress=not args.quiet, threads=args.threads,
          backend_note=backend_note)
    print(f"done: log {out_dir / 'progress.csv'}, checkpoint {out_dir / 'checkpoint.npz'}, "
          f"curve {out_dir / PLOT_FILE}", file=sys.stderr)
    return 0


def command_evaluate(args) -> int:
    from .envs import make_env
    from .progress import counted
    from .render import record_gif
    from .train import evaluate, load_agent

    agent, config = load_agent(args.run)
    returns = evaluate(agent, make_env(config.env_id), args.episodes, config.seed)
    print(f"{config.env_id}: mean return {returns.mean():.1f} ± {returns.std():.1f} over "
          f"{counted(args.episodes, 'noise-free episode')} (min {returns.min():.1f}, max {returns.max():.1f})")
    if args.gif:
        with refused_if_unwritable(args.gif, "--gif swing.gif"):
            frames = record_gif(agent, config.env_id, Path(args.gif), config.seed)
        print(f"animation of one episode ({frames} frames) written to {args.gif}")
    return 0


def command_plot(args) -> int:
    from .plot import plot_runs

    with refused_if_unwritable(args.output, "-o curve.png"):
        output = plot_runs(args.runs, Path(args.output), band=args.band)
    print(f"plot written to {output}")
    return 0


def command_gradcheck(args) -> int:
    import json

    from ..coursework.layer_check import UnusableCode, check_target, time_limit
    from ..ddpg_gradcheck import agent_reports, td3_reports
    from ..gradcheck import finite_or_none, standard_reports

    if (args.input_shape or args.param_shape or args.param) and not args.target:
        flag, value = next((f, v) for f, v in (("--input-shape", args.input_shape), ("--param-shape", args.param_shape),
                                               ("--param", args.param)) if v)
        example = "my_layers.py:Affine" if flag == "--param" else "layers.py:affine_forward,affine_backward"
        raise ConfigError(f"{flag} applies to a TARGET (your layer); give one, e.g. tinyddpg gradcheck "
                          f"{example} {flag} {value if isinstance(value, str) else value[0]}")
    if args.target:
        try:  # with --json, what the student's code prints goes to stderr: stdout is the JSON alone
            with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext(), \
                    time_limit(args.timeout, json_error=args.json):
                reports = [check_target(args.target, args.input_shape, args.param_shape, params=args.param)]
        except UnusableCode as error:
            if args.json:
                print(json.dumps({"passed": False, "error": str(error)}))
            raise
    else:
        reports = standard_reports() + agent_reports() + td3_reports()
    worst = max((r.worst() for r in reports), key=lambda error: math.inf if math.isnan(error) else error)
    passed = worst <= args.tolerance
    if args.json:
        print(json.dumps({"passed": passed, "tolerance": args.tolerance, "worst_rel_error": finite_or_none(worst),
                          "reports": [report.as_dict(args.tolerance) for report in reports]}))
        return 0 if passed else 1
    for report in reports:
        print(report, end="\n\n")
    print(f"{'PASS' if passed else 'FAIL'}: worst relative error {worst:.2e} (tolerance {args.tolerance:g})")
    return 0 if passed else 1


def command_assignment(args) -> int:
    from ..coursework.assignment import choose_parts, new_assignment

    parts = choose_parts(args.parts, args.td3)
    new_assignment(Path(args.dir), parts, solution=args.solution)
    what = "solution (the engine's code in every part)" if args.solution else "assignment"
    print(f"{what} with parts {', '.join(parts)} written to {args.dir}; grade it with: tinyddpg grade {args.dir}")
    return 0


def command_gradescope(args) -> int:
    from ..coursework.gradescope import write_autograder

    write_autograder(Path(args.dir), Path(args.zip))
    print(f"Gradescope autograder for {args.dir} written to {args.zip} (tinyddpg {__version__}); upload it as the "
          f"assignment's autograder, or try it here: docs/coursework.md section 3")
    return 0


def command_grade(args) -> int:
    from ..coursework.grade import grade_command

    return grade_command(Path(args.dir), args.parts, args.timeout, not args.no_training, args.gradescope,
                         Path(args.submission) if args.submission else None)


def command_sweep(args) -> int:
    from .sweep import make_spec, run_sweep

    fixed = settings_from(args)
    swept = {text.partition("=")[0].strip() for text in args.set}
    environment_backend = backend_from_environment({**fixed, **dict.fromkeys(swept)})
    if environment_backend is not None:
        fixed["backend"] = environment_backend
    spec = make_spec(args.preset, args.seeds, args.set, fixed=fixed)
    run_sweep(spec, Path(args.out), workers=args.workers, ray_address=args.ray, threads=args.threads, quiet=args.quiet,
              last_k=args.last_k, again=shlex.join(["tinyddpg", *args.argv]))
    return 0


def positive_int(example: str):
    """An argparse type: an integer >= 1, refused with the value and a working example otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: must be an integer >= 1, e.g. {example}")
        return value

    return parse


def positive_number(example: str):
    """An argparse type: a finite number > 0, refused with the value and a working example otherwise."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: must be a positive finite number, e.g. {example}")
        return value

    return parse


def output_file(suffixes: tuple[str, ...], example: str):
    """An argparse type: a file path with one of these suffixes in an existing, writable folder."""

    def parse(text: str) -> Path:
        path = Path(text)
        folder = path.parent
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"{text!r} must end in {' or '.join(suffixes)}, e.g. {example}")
        if not folder.is_dir():
            existing = next(parent for parent in [folder, *folder.parents] if parent.exists() or parent == Path("."))
            if existing.exists() and not existing.is_dir():  # mkdir -p cannot make a folder under a file
                raise argparse.ArgumentTypeError(f"{text!r}: {existing} is a file, not a folder; write to a folder, "
                                                 f"e.g. {example}")
            raise argparse.ArgumentTypeError(f"{text!r}: the folder {folder} does not exist; create it first "
                                             f"(mkdir -p {shlex.quote(str(folder))}) or write to the current folder, "
                                             f"e.g. {example}")
        if not os.access(folder, os.W_OK) or path.is_dir():
            problem = "is a folder" if path.is_dir() else f"is in {folder}, which is not writable"
            raise argparse.ArgumentTypeError(f"{text!r} {problem}; choose another file, e.g. {example}")
        return path

    return parse


@contextlib.contextmanager
def refused_if_unwritable(path: Path, example: str) -> Iterator[None]:
    """An output file that passed output_file's checks and still cannot be written (a full disk, a folder that
    refuses even root, a file made meanwhile): one line naming it and the way out, never a traceback."""
    try:
        yield
    except OSError as error:
        if error.filename is not None and Path(error.filename).absolute() != Path(path).absolute():
            raise  # another file (an input) failed: not this one's to explain
        raise ConfigError(f"could not write {path} ({error.strerror or error}); choose a file in a folder you can "
                          f"write, e.g. {example}") from None


PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, refusing a bad flag in one line that points at --help (not the usage, then the error)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="tinyddpg", description="DDPG with hand-written gradients, on NumPy or CuPy.")
    parser.add_argument("--version", action="version", version=f"tinyddpg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train an agent (or continue one with --resume)",
                                description="Train DDPG on a gymnasium environment. Progress goes to stderr; "
                                            "the run folder gets config.json, progress.csv, checkpoint.npz and "
                                            "curve.png. Ctrl-C saves a checkpoint and tells how to resume.")
    train.add_argument("--preset", choices=sorted(PRESETS), help=f"starting settings (default: {DEFAULT_PRESET})")
    train.add_argument("--out", metavar="DIR", help="run folder (default: runs/<preset>-seed<seed>)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint (only --steps may change)")
    train.add_argument("--quiet", action="store_true", help="no progress line")
    train.add_argument("--threads", type=positive_int("--threads 1"), metavar="N",
                       help="BLAS threads for NumPy (default: one per core not busy with other work when the run "
                            "starts; on --resume, the run's own count, which keeps the resume exact)")
    add_setting_options(train)
    train.set_defaults(handler=command_train)

    evaluate = commands.add_parser("evaluate", help="noise-free returns of a trained run, optionally an animation")
    evaluate.add_argument("run", metavar="DIR", help="a run folder")
    evaluate.add_argument("--episodes", type=positive_int("--episodes 10"), default=10,
                          help="episodes to average (default 10)")
    evaluate.add_argument("--gif", metavar="FILE", type=output_file((".gif",), "--gif swing.gif"),
                          help="write an animated GIF of one episode (a .gif file in an existing folder)")
    evaluate.set_defaults(handler=command_evaluate)

    plot = commands.add_parser("plot", help="learning curves of one or more runs or sweeps")
    plot.add_argument("runs", nargs="+", metavar="DIR", help="run folders, or folders of runs (a sweep)")
    plot.add_argument("-o", "--output", default="curve.png", type=output_file(PLOT_SUFFIXES, "-o curve.png"),
                      help=f"image file to write: {', '.join(PLOT_SUFFIXES)} (default curve.png)")
    plot.add_argument("--band", choices=("minmax", "iqm-ci"), default="minmax",
                      help="how the seeds of a setting are drawn on the return panel: their mean with a band from "
                           "the worst to the best seed (minmax, the default), or their interquartile mean with its "
                           "95%% stratified-bootstrap confidence interval (iqm-ci; no band for one seed)")
    plot.set_defaults(handler=command_plot)

    sweep = commands.add_parser(
        "sweep", help="train every combination of settings for several seeds, in parallel; summary and plot",
        description="The cross product of the --set values times the seeds, one run folder each (as `train` "
                    "writes it) under DIR/<setting>/seed<k>, run in parallel local worker processes or on a Ray "
                    "cluster; then DIR/summary.csv, DIR/summary_settings.csv (mean and IQM over seeds with 95% "
                    "bootstrap CIs, also printed) and DIR/curve.png (one curve per setting, band across seeds). "
                    "Running the same command again skips finished runs and resumes unfinished ones.")
    sweep.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET,
                       help=f"starting settings (default: {DEFAULT_PRESET})")
    sweep.add_argument("--seeds", default="0", help="seeds: a range 0-4, a list 0,2,5, or one seed (default 0)")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="values of a setting (any `train` setting, e.g. batch_size=64,256); one value fixes it "
                            "for every run; list-valued settings separate values by '/' (hidden=64,64/256,256)")
    sweep.add_argument("--out", metavar="DIR", required=True, help="sweep folder")
    sweep.add_argument("--workers", type=positive_int("--workers 2"),
                       help="local worker processes (default: the number of cores)")
    sweep.add_argument("--last-k", type=positive_int("--last-k 5"), default=LAST_K, metavar="K",
                       help=f"score each run also by the mean of its last K evaluations (default {LAST_K}); run a "
                            f"finished sweep again with another K to rewrite its summaries without training")
    sweep.add_argument("--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS ('auto', 'ray://host:10001', "
                                                     "or 'local' to start one here) instead of local workers")
    sweep.add_argument("--quiet", action="store_true", help="no line per finished run (failures still show)")
    sweep.add_argument("--threads", type=positive_int("--threads 1"), metavar="N", default=1,
                       help="BLAS threads of each run (default 1: the cores are filled by runs side by side)")
    add_setting_options(sweep, exclude=("seed",))
    sweep.set_defaults(handler=command_sweep)

    gradcheck = commands.add_parser(
        "gradcheck", help="finite-difference checks of every layer and of the DDPG losses, or of your own layer",
        description="Without TARGET: every tinyddpg layer and the DDPG losses. With TARGET: your layer, in float64, "
                    "either PATH.py:Name (a class, or a function building one, with forward(x) and backward(dout) "
                    "returning dx; the gradient of parameter W in dW, added (+=) or assigned; parameters listed in "
                    "param_names or by --param, or found: every array it holds (attributes, dicts, lists, sublayers) "
                    "that changes its output) or PATH.py:forward,backward "
                    "(CS231n's pair: forward(x, *params) -> (out, cache), backward(dout, cache) -> (dx, *dparams)); "
                    "module.path works for PATH.py. The file's folder is importable. A gradient passes when its "
                    "rel_error, max|a - n| / max(|a| + |n|) over the whole array, is within the tolerance; "
                    "CS231n's per-element max |a - n| / (|a| + |n|) is in --json as cs231n_rel_error, not in the "
                    "table (it scores round-off in near-zero entries as large errors). "
                    "Exit status: 0 pass, 1 a gradient is wrong, 2 unusable input (one line on stderr).",
        epilog="--json prints one object: {passed, tolerance, worst_rel_error, reports: [{title, passed, gradients: "
               "[{name, shape, entries_checked, analytic_norm, numeric_norm, max_abs_error, rel_error, "
               "cs231n_rel_error, passed}]}]} (NaN as null), or {passed: false, error} for unusable input. "
               "Examples: tinyddpg gradcheck my_layers.py:Affine; "
               "tinyddpg gradcheck layers.py:affine_forward,affine_backward --json")
    gradcheck.add_argument("target", nargs="?", metavar="TARGET",
                           help="your layer: PATH.py:Name, PATH.py:forward,backward or module.path:Name")
    gradcheck.add_argument("--input-shape", metavar="B,N", help="input shape for TARGET (default: (5, rows of its "
                           "first weight matrix), or (5, 4))")
    gradcheck.add_argument("--param-shape", metavar="NAME=SHAPE", action="append", default=[],
                           help="a parameter's shape for a pair of functions, e.g. gamma=4 (default: (D, 3) for the "
                                "first, (3,) for the others, D the size of one example of the input); repeatable")
    gradcheck.add_argument("--param", metavar="PARAM=GRAD", action="append", default=[],
                           help="a parameter of a class TARGET and where backward leaves its gradient, each a path "
                                "into the layer: --param W=dW, --param \"params['W']=grads['W']\", --param "
                                "weights[0]=grads[0]; repeatable. Default: the arrays the layer holds that change its "
                                "output, each with its gradient found under dW, d_W, W_grad, grad_W, grads['W'], "
                                "weight.grad; a layer holding none (ReLU) is checked on dx alone, and one whose "
                                "arrays change the output with no gradient found is refused (exit 2)")
    gradcheck.add_argument("--timeout", type=positive_number("--timeout 60"), default=60.0, metavar="SECONDS",
                           help="stop the check of TARGET after this many seconds: an endless loop (default 60)")
    gradcheck.add_argument("--tolerance", type=positive_number("--tolerance 1e-6"), default=1e-6,
                           help="largest relative error that passes (default 1e-6)")
    gradcheck.add_argument("--json", action="store_true", help="the result as JSON on stdout, for an autograder")
    gradcheck.set_defaults(handler=command_gradcheck)
    add_coursework_commands(commands)
    return parser


def add_coursework_commands(commands) -> None:
    """`assignment new` and `grade` (tinyddpg/coursework/, docs/coursework.md)."""
    assignment = commands.add_parser("assignment", help="hand out DDPG as coursework: a student copy of the engine")
    actions = assignment.add_subparsers(dest="action", metavar="{new,gradescope}", required=True)
    new = actions.add_parser(
        "new", help="write a student copy of the engine with parts to write",
        description="Copy the engine into DIR/my_ddpg/ (a package of its own) with the chosen parts' bodies replaced "
                    "by a stub raising NotImplementedError; DIR/README.md states each task. See docs/coursework.md.")
    new.add_argument("dir", metavar="DIR", help="a new (or empty) folder")
    new.add_argument("--parts", help="comma-separated parts (default: all of DDPG's); see docs/coursework.md")
    new.add_argument("--td3", action="store_true", help="add TD3's three fixes as parts (the second assignment)")
    new.add_argument("--solution", action="store_true", help="leave the engine's code in: the teacher's solution")
    new.set_defaults(handler=command_assignment)
    gradescope = actions.add_parser(
        "gradescope", help="write the Gradescope autograder zip for an assignment folder",
        description="Write ZIP with setup.sh (a virtual environment, pip installed where the image lacks it, pinned "
                    "dependencies, this tinyddpg version checked), run_autograder (the student's upload laid over "
                    "the handed-out folder, found flat, in my_ddpg/ or one folder deeper; graded into "
                    "results.json), this tinyddpg's source and the folder DIR. See docs/coursework.md section 3.")
    gradescope.add_argument("dir", metavar="DIR", help="the assignment folder `assignment new` made (with its stubs)")
    gradescope.add_argument("zip", metavar="ZIP", help="the zip to write, e.g. autograder.zip")
    gradescope.set_defaults(handler=command_gradescope)
    grade = commands.add_parser("grade", help="grade an assignment folder, part by part",
                                description="Check each part with the engine standing in for every other part, then "
                                            "train with all of them. Exit status 0 full marks, 1 points lost, 2 "
                                            "unusable input.")
    grade.add_argument("dir", metavar="DIR", help="the assignment folder (with assignment.json and my_ddpg/)")
    grade.add_argument("--parts", help="grade only these comma-separated parts")
    grade.add_argument("--timeout", type=positive_number("--timeout 60"), default=60.0,
                       help="seconds a part may run (default 60; each training run gets 10 times this)")
    grade.add_argument("--no-training", action="store_true", help="skip the two training parts")
    grade.add_argument("--gradescope", metavar="FILE", type=output_file((".json",), "--gradescope results.json"),
                       help="also write Gradescope's results.json to FILE")
    grade.add_argument("--submission", metavar="UPLOAD",
                       help="grade DIR with the student's files from UPLOAD over its my_ddpg/ (flat, in my_ddpg/, or "
                            "one folder down); DIR itself is not changed")
    grade.set_defaults(handler=command_grade)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # as typed: the command that continues a stopped sweep
    try:
        status = exit_status(lambda: args.handler(args))
        sys.stdout.flush()  # a reader that went away shows here, not in Python's flush at exit
        return status
    except BrokenPipeError:  # `tinyddpg grade DIR | head -8`: head has what it wanted; stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit then has nowhere to fail
        return 128 + signal.SIGPIPE


def exit_status(work: Callable[[], int], program: str = "tinyddpg") -> int:
    """Run work (a command) and return its exit status; a failure is one line on stderr, never a traceback, and
    messages name options and commands. The command line and the examples run in it."""
    from .train import TrainingInterrupted

    try:
        with command_line_language():
            return work()
    except TrainingInterrupted as stop:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # saved already: one more Ctrl-C must not cut this message
        print(f"{program}: {stop}", file=sys.stderr)
        return 128 + stop.signal_number
    except TinyDDPGError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:  # one not foreseen by the estimate, outside a training run
        print(f"{program}: error: out of memory ({type(error).__name__}: {error}); lower --batch-size or "
              f"--buffer-size, or free memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
