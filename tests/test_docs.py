"""The documentation: the generated parameter page is current, the README is a short front door
whose set-up commands and links are real, and no page points outside the repository."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_parameters_page_is_generated_from_params_table():
    spec = importlib.util.spec_from_file_location("gen_parameters",
                                                  ROOT / "scripts" / "gen_parameters.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    page = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert page == gen.page(), "docs/parameters.md is out of date: run scripts/gen_parameters.py"
    from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS

    for spec in RESONANT_PARAMS + MDCT_PARAMS:
        assert f"| `{spec.name}` |" in page


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert ("bash scripts/setup.sh && python3 -m atomsynth render --stems out/stems "
            "-o out/default.wav") in text
    assert "bash scripts/setup.sh --dev && python3 -m pytest" in text


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_relative_links_and_images_exist():
    missing = []
    for md in _markdown_files():
        text = md.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (md.parent / target.split("#")[0]).resolve()
            if not path.exists():
                missing.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not missing, missing


def test_no_reference_to_notes_outside_the_repository():
    pattern = re.compile(r"\.\./shared|/work/|DESIGN\.md|shared/(data|seeds)|seeds/")
    hits = [f"{md.relative_to(ROOT)}: {line.strip()}" for md in _markdown_files()
            for line in md.read_text(encoding="utf-8").splitlines() if pattern.search(line)]
    assert not hits, hits
