"""Every Python snippet of docs/guide.md, docs/faq.md and docs/solutions.md runs, and prints what the text shows.

A ```python block is run (in a fresh namespace, in a temporary folder). When the next block after it is a plain
``` block (only blank lines between), that block is its expected output and must match line by line. Numbers
are compared as numbers: equal at the precision printed, except numbers below 1e-8 in size (round-off, such
as a gradient check's max abs err, which moves with the BLAS build) which need only agree within a factor of
10. ```bash blocks are commands, not run here. A Python block that must not run in CI (a long training run)
carries `<!-- doctest: skip REASON -->` on the line before it; the harness counts those and wants a reason.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC_FILES = ("guide.md", "faq.md", "solutions.md")
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[a-z]*)\s*$")
SKIP = re.compile(r"<!--\s*doctest:\s*skip\s+(?P<reason>\S.*?)\s*-->")
NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
ROUND_OFF = 1e-8


def blocks(text: str) -> list[dict]:
    """Fenced blocks in order: language, code (indentation removed), first line number, skip reason."""
    lines, found, i = text.splitlines(), [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, start = len(opening["indent"]), i + 1
        i = start
        while not (FENCE.match(lines[i]) and FENCE.match(lines[i])["lang"] == ""):
            i += 1
        previous = next((line for line in reversed(lines[:start - 1]) if line.strip()), "")
        skip = SKIP.search(previous)
        found.append({"lang": opening["lang"], "code": "\n".join(line[indent:] for line in lines[start:i]),
                      "line": start + 1, "first": start, "last": i, "skip": skip["reason"] if skip else None})
        i += 1
    return found


def snippets(name: str) -> list[tuple[dict, str | None]]:
    """(python block, its expected output or None) for every ```python block of a doc."""
    text = (DOCS / name).read_text()
    all_blocks, lines = blocks(text), text.splitlines()
    pairs = []
    for k, block in enumerate(all_blocks):
        if block["lang"] != "python":
            continue
        after = all_blocks[k + 1] if k + 1 < len(all_blocks) else None
        adjacent = after is not None and not any(line.strip() for line in lines[block["last"] + 1:after["first"] - 1])
        pairs.append((block, after["code"] if adjacent and after["lang"] == "" else None))
    return pairs


CASES = [pytest.param(block, expected, id=f"{name}:{block['line']}")
         for name in DOC_FILES for block, expected in snippets(name)]


def numbers_agree(shown: str, printed: str) -> bool:
    a, b = float(shown.replace(",", "")), float(printed.replace(",", ""))
    if abs(a) < ROUND_OFF and abs(b) < ROUND_OFF:
        return a == b or (a != 0 and b != 0 and 0.1 < abs(a / b) < 10)
    return shown == printed


def assert_same_output(expected: str, printed: str, where: str) -> None:
    expected_lines, printed_lines = expected.rstrip("\n").splitlines(), printed.rstrip("\n").splitlines()
    assert len(printed_lines) == len(expected_lines), f"{where}: printed\n{printed}\nbut the text shows\n{expected}"
    for shown, got in zip(expected_lines, printed_lines):
        same_words = NUMBER.sub("#", shown).split() == NUMBER.sub("#", got).split()
        shown_numbers, got_numbers = NUMBER.findall(shown), NUMBER.findall(got)
        same_numbers = len(shown_numbers) == len(got_numbers) and all(map(numbers_agree, shown_numbers, got_numbers))
        assert same_words and same_numbers, f"{where}: printed {got!r}, the text shows {shown!r}"


@pytest.mark.parametrize(("block", "expected"), CASES)
def test_snippet_prints_what_the_text_shows(block, expected, tmp_path, monkeypatch):
    if block["skip"]:
        pytest.skip(f"marked in the text: {block['skip']}")
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block["code"], f"docs snippet at line {block['line']}", "exec"), {"__name__": "__doc_snippet__"})
    if expected is not None:
        assert_same_output(expected, printed.getvalue(), f"line {block['line']}")


def test_the_harness_finds_the_snippets_and_their_outputs():
    guide = snippets("guide.md")
    assert len(guide) >= 8 and sum(expected is not None for _, expected in guide) >= 8
    assert all(block["skip"] is None or block["skip"].strip() for name in DOC_FILES for block, _ in snippets(name))


def test_a_wrong_number_or_word_fails_the_comparison():
    assert_same_output("rel error 6.00e-01 (4, 3)", "rel error 6.00e-01 (4, 3)", "same")
    assert_same_output("max abs err 2.27e-10", "max abs err 3.1e-10", "round-off moves")
    for wrong in ("rel error 5.00e-01 (4, 3)", "rel error 6.00e-01 (3, 4)", "abs error 6.00e-01 (4, 3)"):
        with pytest.raises(AssertionError):
            assert_same_output("rel error 6.00e-01 (4, 3)", wrong, "wrong")
    with pytest.raises(AssertionError):
        assert_same_output("max abs err 2.27e-10", "max abs err 2.27e-08", "off by 100")


def test_a_marked_snippet_is_skipped_with_its_reason_and_an_unmarked_one_is_not():
    text = "<!-- doctest: skip trains for minutes -->\n```python\nraise SystemExit\n```\n\n```python\nprint(1)\n```\n"
    marked, unmarked = blocks(text)
    assert (marked["lang"], marked["skip"], marked["code"]) == ("python", "trains for minutes", "raise SystemExit")
    assert unmarked["skip"] is None
