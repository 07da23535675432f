"""Every Python snippet of the README and of every page in docs/ runs, and prints what the text shows; and the
docs' claims about the code (presets, switches, log columns, the line budget, the plot's panels, what a stop
signal does) are checked against the code.

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

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOC_FILES = ("README.md", *sorted(f"docs/{path.name}" for path in DOCS.glob("*.md")))
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
    text = (ROOT / name).read_text()
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
    assert {"README.md", "docs/guide.md", "docs/faq.md", "docs/solutions.md", "docs/running.md"} <= set(DOC_FILES)
    guide = snippets("docs/guide.md")
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


# --- the docs' claims about the code, each checked against the code ------------------------------------------

def section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def table_column(text: str, header: str) -> list[str]:
    """The first column of the markdown table whose first header cell is `header`, backticks removed."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"\|\s*{re.escape(header)}\s*\|", line)]
    assert starts, f"no table with the header {header!r}"
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def test_the_readme_lists_every_preset_and_no_other():
    from tinyddpg.run.config import PRESETS

    listed = table_column((ROOT / "README.md").read_text(), "preset")
    assert sorted(listed) == sorted(PRESETS), f"the README's preset table lists {listed}, the code defines {list(PRESETS)}"


def test_the_readme_names_every_td3_switch_by_its_flag():
    from tinyddpg.run.config import TD3_SETTINGS

    readme = (ROOT / "README.md").read_text()
    missing = [flag for flag in (f"--{name.replace('_', '-')}" for name in ("td3", *TD3_SETTINGS)) if flag not in readme]
    assert not missing, f"the README does not name {missing}"


def test_the_log_columns_listed_are_the_columns_a_run_writes(tmp_path):
    from tinyddpg.run.runlog import RunLog

    RunLog(tmp_path / "progress.csv").close()
    written = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    listed = table_column((DOCS / "running.md").read_text(), "column")
    assert listed == written, f"docs/running.md lists {listed}, a run writes {written}"


def test_the_line_budget_in_the_readme_is_the_one_the_test_holds():
    from test_structure import CORE_ENGINE, CORE_LINE_BUDGET

    readme = (ROOT / "README.md").read_text()
    claims = re.findall(r"at most ([\d,]+) lines", readme)
    assert claims, "the README should say how long the core engine may be: 'at most N lines'"
    assert all(int(claim.replace(",", "")) == CORE_LINE_BUDGET for claim in claims), (claims, CORE_LINE_BUDGET)
    modules = re.search(r"the core engine \((\w+) modules", readme).group(1)
    numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    assert numbers.index(modules) + 1 == len(CORE_ENGINE), (modules, CORE_ENGINE)


def test_faq_8_quotes_what_the_first_stop_signal_prints(capfd):
    import signal

    from tinyddpg.run.train import stop_signals

    with stop_signals() as stop:
        signal.raise_signal(signal.SIGINT)
    assert stop.requested and not stop.now
    note = capfd.readouterr().err.strip()
    faq_8 = section((DOCS / "faq.md").read_text(), "## 8.", "## 9.")
    assert note in faq_8.splitlines(), f"FAQ 8 should quote what the program prints: {note!r}"


def drawn_panel_labels(tmp_path, with_value_columns: bool, monkeypatch) -> list[str]:
    """The y-axis labels of the figure `tinyddpg plot` draws for a small log, with or without the value columns."""
    import matplotlib.pyplot

    from tinyddpg.run.plot import plot_runs
    from tinyddpg.run.runlog import RunLog

    run = tmp_path / ("measured" if with_value_columns else "pendulum")
    run.mkdir()
    log = RunLog(run / "progress.csv")
    for step in (1000, 2000):
        values = dict(value_estimate=-50.0, value_true=-60.0) if with_value_columns else {}
        log.write(step=step, episode=step // 200, eval_return_mean=-900.0, eval_return_std=50.0, critic_loss=0.5,
                  actor_loss=20.0, mean_q=-20.0, **values)
    log.close()
    figures, close = [], matplotlib.pyplot.close
    monkeypatch.setattr(matplotlib.pyplot, "close", figures.append)
    plot_runs([run], tmp_path / f"{run.name}.png")
    monkeypatch.setattr(matplotlib.pyplot, "close", close)
    [figure] = figures
    labels = [axis.get_ylabel() for axis in figure.axes]
    close(figure)
    return labels


def test_the_notebook_describes_the_panels_its_plot_draws(tmp_path, monkeypatch):
    import json

    cells = json.loads((ROOT / "examples" / "tour.ipynb").read_text())["cells"]
    [text] = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## 5.")]
    described = re.findall(r"`([^`]+)`", text)  # section 5's text quotes each panel's axis label, and nothing else
    assert sorted(described) == sorted(drawn_panel_labels(tmp_path, False, monkeypatch)), described


def test_the_guide_names_every_panel_of_the_plot(tmp_path, monkeypatch):
    reading_a_run = section((DOCS / "guide.md").read_text(), "## 9. Reading a run", "### 9.1")
    missing = [label for label in drawn_panel_labels(tmp_path, True, monkeypatch) if label not in reading_a_run]
    assert not missing, f"the guide's 'Reading a run' does not name the panels {missing}"


def test_every_line_of_code_the_guides_td3_section_quotes_is_in_the_agent():
    td3 = re.sub(r"```.*?```", "", section((DOCS / "guide.md").read_text(), "### 2.8 TD3", "## 3. One update"), flags=re.S)
    agent = (ROOT / "tinyddpg" / "agent.py").read_text()
    quoted = [code for code in re.findall(r"`([^`]+)`", td3) if "self." in code or code.startswith("return ")]
    assert len(quoted) >= 4, quoted
    missing = [code for code in quoted if code not in agent]
    assert not missing, f"the guide's section 2.8 quotes lines that tinyddpg/agent.py does not have: {missing}"


LINK = re.compile(r"\]\((?!https?:|mailto:)([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for a page: one per heading (lowercased, punctuation dropped, spaces to
    hyphens), and every <a name="...">."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    headings = re.findall(r"^#+\s+(.*)$", text, flags=re.M)
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-") for heading in headings}
    return slugs | set(re.findall(r'<a name="([^"]+)">', text))


def test_every_link_between_the_docs_reaches_its_page_and_heading():
    broken = []
    for name in DOC_FILES:
        page = ROOT / name
        for target in LINK.findall(page.read_text()):
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
                broken.append(f"{name}: {target}")
    assert not broken, broken
