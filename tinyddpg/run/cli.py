"""The command line: tinyddpg train | evaluate | plot | gradcheck | sweep."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..backend import limit_blas_threads
from ..errors import ConfigError, TinyDDPGError, command_line_language
from .config import PRESETS, default_text, field_help, field_names, parse_value, preset, with_overrides

OPTION_ALIASES = {"env_id": ["--env"]}


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


def command_train(args) -> int:
    from .folder import CONFIG_FILE, RunFolderLock
    from .memory import size_text
    from .threads import choose_threads
    from .train import PLOT_FILE, Run, check_new_run_folder, saved_config

    overrides = settings_from(args)
    new_config = None if args.resume else with_overrides(preset(args.preset), overrides)
    out_dir = Path(args.resume or args.out or f"runs/{args.preset}-seed{new_config.seed}")
    RunFolderLock(out_dir).check_free()  # a folder another process trains in is refused first
    if args.resume:
        config, resume = saved_config(out_dir)
        changed = [name for name in overrides if name != "steps"]
        if changed:
            raise ConfigError(f"--resume continues a run with its saved settings; only --steps may change "
                              f"(got {', '.join(option_name(n) for n in changed)})")
        config = with_overrides(config, overrides)
    else:
        config, resume = new_config, False
        check_new_run_folder(out_dir)
    run = Run(config, out_dir)  # settings, environment, backend and memory checked; nothing written yet
    count, why = choose_threads(args.threads, out_dir, resume)
    threads = f"{limit_blas_threads(count)} ({why})"
    with run.folder_lock():  # refuses a second process before anything is printed or written
        if args.resume and not resume:
            print(f"{out_dir} has no checkpoint yet (its run stopped before the first one): starting it over from "
                  f"its {CONFIG_FILE}", file=sys.stderr)
        print(f"training {config.env_id} for {config.steps:,} steps (seed {config.seed}, backend {config.backend}, "
              f"{threads}, memory about {size_text(run.memory.total)}) -> {out_dir}", file=sys.stderr)
        run.train(resume=resume, show_progress=not args.quiet)
    run.write_curve()
    print(f"done: log {out_dir / 'progress.csv'}, checkpoint {out_dir / 'checkpoint.npz'}, "
          f"curve {out_dir / PLOT_FILE}", file=sys.stderr)
    return 0


def command_evaluate(args) -> int:
    from .envs import make_env
    from .render import record_gif
    from .train import evaluate, load_agent

    agent, config = load_agent(args.run)
    returns = evaluate(agent, make_env(config.env_id), args.episodes, config.seed)
    print(f"{config.env_id}: mean return {returns.mean():.1f} ± {returns.std():.1f} over {args.episodes} "
          f"noise-free episodes (min {returns.min():.1f}, max {returns.max():.1f})")
    if args.gif:
        frames = record_gif(agent, config.env_id, Path(args.gif), config.seed)
        print(f"animation of one episode ({frames} frames) written to {args.gif}")
    return 0


def command_plot(args) -> int:
    from .plot import plot_runs

    output = plot_runs(args.runs, Path(args.output))
    print(f"plot written to {output}")
    return 0


def command_gradcheck(args) -> int:
    from ..ddpg_gradcheck import agent_reports, td3_reports
    from ..gradcheck import standard_reports
    from ..student_gradcheck import check_target

    if args.target:
        reports = [check_target(args.target, args.input_shape)]
    else:
        reports = standard_reports() + agent_reports() + td3_reports()
    for report in reports:
        print(report, end="\n\n")
    worst = max(r.worst() for r in reports)
    verdict = "PASS" if worst <= args.tolerance else "FAIL"
    print(f"{verdict}: worst relative error {worst:.2e} (tolerance {args.tolerance:g})")
    return 0 if verdict == "PASS" else 1


def command_sweep(args) -> int:
    from .sweep import make_spec, run_sweep

    spec = make_spec(args.preset, args.seeds, args.set, fixed=settings_from(args))
    run_sweep(spec, Path(args.out), workers=args.workers, ray_address=args.ray)
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


PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinyddpg", description="DDPG with hand-written gradients, on NumPy or CuPy.")
    parser.add_argument("--version", action="version", version=f"tinyddpg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train an agent (or continue one with --resume)",
                                description="Train DDPG on a gymnasium environment. Progress goes to stderr; "
                                            "the run folder gets config.json, progress.csv, checkpoint.npz and "
                                            "curve.png. Ctrl-C saves a checkpoint and tells how to resume.")
    train.add_argument("--preset", choices=sorted(PRESETS), default="pendulum", help="starting settings (default: pendulum)")
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
    plot.set_defaults(handler=command_plot)

    sweep = commands.add_parser(
        "sweep", help="train every combination of settings for several seeds, in parallel; summary and plot",
        description="The cross product of the --set values times the seeds, one run folder each (as `train` "
                    "writes it) under DIR/<setting>/seed<k>, run in parallel local worker processes or on a Ray "
                    "cluster; then DIR/summary.csv and DIR/curve.png (one curve per setting, band across seeds). "
                    "Running the same command again skips finished runs and resumes unfinished ones.")
    sweep.add_argument("--preset", choices=sorted(PRESETS), default="pendulum", help="starting settings (default: pendulum)")
    sweep.add_argument("--seeds", default="0", help="seeds: a range 0-4, a list 0,2,5, or one seed (default 0)")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="values of a setting (any `train` setting, e.g. batch_size=64,256); one value fixes it "
                            "for every run; list-valued settings separate values by '/' (hidden=64,64/256,256)")
    sweep.add_argument("--out", metavar="DIR", required=True, help="sweep folder")
    sweep.add_argument("--workers", type=positive_int("--workers 2"),
                       help="local worker processes (default: the number of cores)")
    sweep.add_argument("--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS ('auto', 'ray://host:10001', "
                                                     "or 'local' to start one here) instead of local workers")
    add_setting_options(sweep, exclude=("seed",))
    sweep.set_defaults(handler=command_sweep)

    gradcheck = commands.add_parser(
        "gradcheck", help="finite-difference checks of every layer and of the DDPG losses, or of your own layer",
        description="Without TARGET: every tinyddpg layer and the DDPG losses. With TARGET (PATH.py:Name or "
                    "module.path:Name, a class or a function building a layer with forward/backward and nn.py's "
                    "parameter convention): that layer, in float64. Exit status 0 pass, 1 fail, 2 unusable input.")
    gradcheck.add_argument("target", nargs="?", metavar="TARGET", help="your layer: PATH.py:Name or module.path:Name")
    gradcheck.add_argument("--input-shape", metavar="B,N", help="input shape for TARGET (default: (5, rows of its "
                           "first weight matrix), or (5, 4))")
    gradcheck.add_argument("--tolerance", type=float, default=1e-6, help="largest relative error that passes")
    gradcheck.set_defaults(handler=command_gradcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return exit_status(lambda: args.handler(args))


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
