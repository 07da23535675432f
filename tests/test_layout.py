"""The README's Layout section follows the tree: every module of the package is named there."""

from pathlib import Path

import tinyddpg

PACKAGE = Path(tinyddpg.__file__).parent
README = PACKAGE.parent / "README.md"


def test_every_module_is_in_the_readme_layout():
    text = README.read_text()
    layout = text[text.index("## Layout"):text.index("## Development")]
    modules = [p for p in PACKAGE.rglob("*.py") if not p.name.startswith("__")]
    missing = [str(p.relative_to(PACKAGE)) for p in modules if p.name not in layout]
    assert not missing, f"README Layout does not name {missing}"
