"""The README.md of a student's copy: the parts (task, file, points, what is checked), the rules of grading, the
time the training parts have, and the commands a student runs on their own copy. Generated from the same
definitions the grader uses (parts.py, checks.py, grade.py), so it cannot drift from the grading."""

from __future__ import annotations

import inspect

from .parts import TD3_PARTS, TRAINING_PARTS, Part

PACKAGE = "my_ddpg"
LAYERS = {"dense_backward": "Dense", "relu_backward": "ReLU", "tanh_backward": "Tanh"}


def check_titles(part_name: str) -> list[str]:
    from .checks import CHECKS

    return [check.title for check in CHECKS[part_name]]


def time_limits() -> tuple[float, float]:
    """(seconds a part may run, seconds a training part may run) with the grader's defaults."""
    from . import grade

    part = inspect.signature(grade.grade).parameters["timeout"].default
    return part, part * grade.TRAINING_TIME_FACTOR


def training_task(training) -> str:
    return (f"Your agent learns {training.environment} in {training.steps:,} steps: mean evaluation return above "
            f"{training.passing:g} ({training.baseline}).")


def student_readme(parts: list[Part], guide_copied: bool) -> str:
    td3 = any(part.name in TD3_PARTS for part in parts)
    total = sum(p.points for p in parts) + sum(t.points for t in TRAINING_PARTS)
    rows = [f"| {i} | `{p.name}` | `{PACKAGE}/{p.module_file}: {p.qualname}` | {p.points} | {p.task} | {p.guide} |"
            for i, p in enumerate(parts, 1)]
    rows += [f"| {len(parts) + i} | `{t.name}` | all of your parts together | {t.points} | {training_task(t)} | |"
             for i, t in enumerate(TRAINING_PARTS, 1)]
    checked = []
    for part in parts:
        checked += [f"- `{part.name}` ({part.points} points, split evenly over its checks):",
                    *(f"  - {title}" for title in check_titles(part.name))]
    for training in TRAINING_PARTS:
        checked += [f"- `{training.name}` ({training.points} points): your parts train {'TD3' if td3 else 'DDPG'} "
                    f"from seed 0 on {training.environment} for {training.steps:,} steps; the mean evaluation "
                    f"return at the end must be above {training.passing:g} ({training.baseline})."]
    part_limit, training_limit = time_limits()
    layers = [LAYERS[p.name] for p in parts if p.name in LAYERS] or ["Dense"]
    guide = " (`docs/guide.md` here is a copy of the guide, with the code of your parts left out)" if guide_copied else ""
    return "\n".join([
        "# Assignment: DDPG from scratch",
        "",
        f"`{PACKAGE}/` is a small DDPG engine (tinyddpg's own) with {len(parts)} parts left for you to write. Each "
        "part is one function whose body is a stub that raises `NotImplementedError`; its docstring, with the "
        "equation and what it requires, and its signature stay. Replace the two stub lines by your code.",
        "",
        "Conventions (see the top of `nn.py`): arrays are `(B, n)` batches; a backward pass *adds* parameter "
        "gradients into `self.dW`, `self.db` in place (`+=`), because they are views into one flat array per "
        "network; optimizers and Polyak averaging change parameter arrays in place.",
        "",
        "| # | part | where | points | task | derived in |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Total: {total} points.",
        "",
        "## What is checked",
        "",
        "Each part is graded with the reference code standing in for every other part, so a mistake in one part "
        "costs that part only; the two training parts use all of your parts at once.",
        "",
        *checked,
        "",
        "## The rules of grading",
        "",
        "- Your files are graded as Python runs them: where a function is defined twice, the last definition "
        "counts (as when Python imports the file). Your own module-level helper functions, constants and lambdas, "
        "methods you add to a class, and `super()` all work.",
        "- Tolerances follow the dtype of your arrays: a float32 result passes when it is right to float32's "
        "precision; gradients are compared with finite differences to a relative error of 1e-6.",
        "- What a docstring asks for is checked: the exception it names (e.g. `ValueError`), writing in place "
        "(`+=`, not `=`), which random generator to draw from (`self.rng`).",
        "- Do not import `tinyddpg` (or call or copy from it) in your package: a part whose code uses the installed "
        "tinyddpg scores 0, with a message saying so. Do not change a signature.",
        "",
        "## Time",
        "",
        f"Each part may run {part_limit:g} s and each training part {training_limit:g} s on the grader; past that "
        "it scores 0 as an endless loop. The reference code needs a small fraction of that. Work on whole arrays "
        "(NumPy's `@`, `sum(axis=0)`, slicing): a Python loop over the rows of a batch or the units of a layer can "
        "be a hundred times slower, and the training parts call your code tens of thousands of times.",
        "",
        "## Check your work",
        "",
        "With tinyddpg installed (it holds the grader), from this folder:",
        "",
        *(f"    tinyddpg gradcheck {PACKAGE}/nn.py:{layer}" for layer in layers),
        f"    tinyddpg grade . --parts {parts[0].name} --no-training    # one part, in seconds",
        "    tinyddpg grade . --no-training                  # every part, without the training runs",
        "    tinyddpg grade .                                # and the two training runs (minutes)",
        "",
        f"`tinyddpg gradcheck {PACKAGE}/nn.py:NAME` checks the gradients of your own layer against finite "
        "differences (its input and every parameter); `tinyddpg gradcheck` without a file checks the installed "
        "tinyddpg, not your copy. The grader's report says, per part, which check failed, what was expected and "
        f"what came, and the guide section to read{guide}. Use your package from Python in this folder: "
        f"`python -c 'import {PACKAGE}.agent'`.",
        "",
    ])

