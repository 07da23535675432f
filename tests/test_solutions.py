"""The grader graded by solutions (issue 24, item 7): the correct solutions of tests/solutions/corpus.py, written in
other styles than the engine's, score full marks; each wrong one, written as students write them, loses exactly its
points on its own part. Many parts go into one submission (each part with its own style or mistake), so one grade
run checks many at once; only the first correct submission is graded with a training part.

    python tests/test_solutions.py     prints the table of every solution graded (part, style or mistake, score,
                                       expected), as the closing note of issue 24 gives it
"""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

import pytest
from solutions.corpus import CORRECT, NEEDS_IMPORT_PLANTING, WRONG, Solution

from tinyddpg.coursework.assignment import PACKAGE, choose_parts, find_function, new_assignment, stub_bodies
from tinyddpg.coursework.grade import grade
from tinyddpg.coursework.parts import PARTS, PARTS_BY_NAME

PART_TIMEOUT = 60.0  # seconds: the loop styles are slow, the machine may be loaded


def submissions(solutions: list[Solution]) -> list[list[Solution]]:
    """The solutions in order, cut into submissions that hold each part at most once."""
    batches: list[list[Solution]] = []
    for solution in solutions:
        if not batches or solution.part in {s.part for s in batches[-1]}:
            batches.append([])
        batches[-1].append(solution)
    return batches


def put(folder: Path, solution: Solution) -> None:
    """Write the solution's code in place of its part's function in folder/my_ddpg (below the stub with
    below_stub), and its module text above the class or function that holds the part."""
    part = PARTS_BY_NAME[solution.part]
    path = folder / PACKAGE / part.module_file
    source = path.read_text()
    if solution.below_stub:
        source = stub_bodies(source, {part.qualname: [part.name]}, part.module_file)
    tree, lines = ast.parse(source), source.splitlines(keepends=True)
    node = find_function(tree, part.qualname)
    code = textwrap.indent(solution.code.strip("\n") + "\n", " " * node.col_offset)
    if solution.below_stub:
        lines[node.end_lineno:node.end_lineno] = ["\n", code]
    else:
        lines[node.lineno - 1:node.end_lineno] = [code]
    if solution.module:
        top = next(n for n in tree.body if n.lineno <= node.lineno <= n.end_lineno)
        lines[top.lineno - 1:top.lineno - 1] = [solution.module.strip("\n") + "\n\n\n"]
    path.write_text("".join(lines))


@pytest.fixture(scope="module")
def solution_copy(tmp_path_factory):
    """`tinyddpg assignment new --solution --td3`: the engine's code in every part, DDPG's and TD3's."""
    folder = tmp_path_factory.mktemp("solutions") / "solution"
    new_assignment(folder, choose_parts("all", td3=True), solution=True)
    return folder


def graded(solution_copy: Path, folder: Path, batch: list[Solution], training: tuple[str, ...] = ()) -> dict[str, float]:
    """Points lost per graded part, for the solution copy with the batch's solutions put in."""
    shutil.copytree(solution_copy, folder)
    for solution in batch:
        put(folder, solution)
    results = grade(folder, parts=",".join([s.part for s in batch] + list(training)), timeout=PART_TIMEOUT,
                    training=False)
    return {r.name: round(r.max_points - r.points, 2) for r in results}


CORRECT_SUBMISSIONS, WRONG_SUBMISSIONS = submissions(CORRECT), submissions(WRONG)


def describe(batch: list[Solution]) -> list[str]:
    return [f"{s.part}: {s.style}" for s in batch]


@pytest.mark.parametrize("number", range(len(CORRECT_SUBMISSIONS)),
                         ids=[f"correct submission {n + 1}" for n in range(len(CORRECT_SUBMISSIONS))])
def test_correct_styles_score_full_marks(number, solution_copy, tmp_path):
    batch = CORRECT_SUBMISSIONS[number]
    training = ("training_bandit",) if number == 0 else ()  # the one grade with training: every part is a student's
    lost = graded(solution_copy, tmp_path / "submission", batch, training)
    assert lost == {name: 0.0 for name in [*(s.part for s in batch), *training]}, describe(batch)


@pytest.mark.parametrize("solution", NEEDS_IMPORT_PLANTING,
                         ids=[f"{s.part}: {s.style}" for s in NEEDS_IMPORT_PLANTING])
def test_correct_styles_that_need_import_planting_score_full_marks(solution, solution_copy, tmp_path):
    assert graded(solution_copy, tmp_path / "submission", [solution]) == {solution.part: 0.0}


@pytest.mark.parametrize("number", range(len(WRONG_SUBMISSIONS)),
                         ids=[f"wrong submission {n + 1}" for n in range(len(WRONG_SUBMISSIONS))])
def test_each_mistake_loses_its_points_on_its_own_part(number, solution_copy, tmp_path):
    batch = WRONG_SUBMISSIONS[number]
    lost = graded(solution_copy, tmp_path / "submission", batch)
    assert lost == {s.part: s.lost for s in batch}, describe(batch)


def test_the_corpus_is_at_least_20_correct_and_20_wrong_and_reaches_every_part():
    assert len(CORRECT) + len(NEEDS_IMPORT_PLANTING) >= 20 and len(CORRECT) >= 20 and len(WRONG) >= 20
    every_part = {part.name for part in PARTS}
    assert {s.part for s in CORRECT} == {s.part for s in WRONG} == every_part
    assert all(s.lost == 0 for s in CORRECT + NEEDS_IMPORT_PLANTING) and all(s.lost > 0 for s in WRONG)
    assert all(s.lost <= PARTS_BY_NAME[s.part].points for s in WRONG)


def main() -> None:
    """Grade every solution and print the table: part, style or mistake, points lost / expected."""
    import tempfile
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "solution"
        new_assignment(copy, choose_parts("all", td3=True), solution=True)
        print("| part | correct style or mistake | score | expected |\n|---|---|---|---|")
        batches = [*CORRECT_SUBMISSIONS, *([s] for s in NEEDS_IMPORT_PLANTING), *WRONG_SUBMISSIONS]
        for number, batch in enumerate(batches):
            lost = graded(copy, Path(scratch) / f"submission-{number}", batch)
            for s in batch:
                points = PARTS_BY_NAME[s.part].points
                mark = " (needs import planting)" if s.needs_import_planting else ""
                print(f"| `{s.part}` | {s.style}{mark} | {points - lost[s.part]:g} / {points} | "
                      f"{points - s.lost:g} / {points} |")


if __name__ == "__main__":
    main()
