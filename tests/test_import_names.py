"""Every module of the package imports, and each source file is loaded under exactly one name.

The top-level folders (``rt/``, ``offline/``, ``gui/``, ``presets/``) are linked into the package
(``atomsynth/rt -> ../rt``), so ``atomsynth.rt.errors`` is the only name of ``rt/errors.py``: a
second name (``rt.errors``, ``atomsynth.atomsynth.rt.errors``) would make a second copy of every
class in it, and ``except ParameterError`` could miss. The check runs in a fresh interpreter so
that what other tests imported does not matter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("atomsynth", "rt", "offline", "gui", "presets")

_PROBE = r"""
import json, os, pkgutil, sys, traceback
import atomsynth

names, failed = [], {}
for info in pkgutil.walk_packages(atomsynth.__path__, "atomsynth."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue                      # runs the command line when imported
    names.append(info.name)
    try:
        __import__(info.name)
    except Exception:
        failed[info.name] = traceback.format_exc(limit=3)
files = {}
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if path:
        files.setdefault(os.path.realpath(path), []).append(name)
print(json.dumps({"walked": names, "failed": failed, "files": files}))
"""


def _source_files() -> set[str]:
    """Every ``.py`` file of the package's folders (real paths), except ``__main__``."""
    out = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if path.name != "__main__.py" and "__pycache__" not in path.parts:
                out.add(os.path.realpath(path))
    return out


@pytest.fixture(scope="module")
def probe() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)
    run = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_every_module_imports(probe):
    assert probe["failed"] == {}
    # the package is this checkout's, and the walk reached every source file of the folders
    missing = sorted(os.path.relpath(p, ROOT) for p in _source_files() - set(probe["files"]))
    assert missing == []
    assert len(probe["walked"]) >= 80


def test_each_file_has_exactly_one_module_name(probe):
    sources = _source_files()
    ours = {path: names for path, names in probe["files"].items() if path in sources}
    assert len(ours) == len(sources)
    doubles = {os.path.relpath(p, ROOT): names for p, names in ours.items() if len(names) != 1}
    assert doubles == {}
    for path, (name,) in ours.items():
        # the name is the file's place under the package: atomsynth/<folder>/<module>
        rel = Path(os.path.relpath(path, ROOT)).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        expected = ".".join(parts if parts[0] == "atomsynth" else ["atomsynth", *parts])
        assert name == expected, (path, name)
    # no module anywhere under a second root name (``rt.errors``, ``atomsynth.atomsynth...``)
    stray = [name for names in probe["files"].values() for name in names
             if name.split(".")[0] in FOLDERS[1:] or name.startswith("atomsynth.atomsynth")]
    assert stray == []
