"""The README's Layout section names every module and package of ``src/core``, so a newcomer finds each one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_layout_names_every_core_module() -> None:
    core = ROOT / "src" / "core"
    modules = {p.stem for p in core.glob("*.py") if p.stem != "__init__"}
    modules |= {f"{p.parent.name}/" for p in core.glob("*/__init__.py")}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `([\w/]+)` \|", section, flags=re.M))
    assert not modules - named, f"README Layout lacks {sorted(modules - named)}"
    assert not named - modules, f"README Layout names modules that do not exist: {sorted(named - modules)}"
