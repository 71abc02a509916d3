"""MkDocs hook: pages under docs/ that ``mkdocs.yml``'s nav does not list go to "More topics".

So a new page ``docs/<topic>.md`` is part of the site (and ``mkdocs build --strict`` passes) as soon
as it exists; give it a place in the nav of ``mkdocs.yml`` when you know where it belongs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _listed(nav: Any) -> set[str]:
    """Every Markdown path named anywhere in a nav structure."""
    out: set[str] = set()
    if isinstance(nav, str):
        out.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            out |= _listed(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            out |= _listed(value)
    return out


def on_config(config: Any) -> Any:
    """Append the pages that the nav leaves out, sorted by file name."""
    nav = config.get("nav")
    if not nav:
        return config
    docs = Path(config["docs_dir"])
    listed = _listed(nav)
    extra = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    extra = [p for p in extra if p not in listed]
    if extra:
        nav.append({"More topics": extra})
    return config
