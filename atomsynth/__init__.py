"""atomsynth: sparse, interpretable audio atoms you can play and reshape live.

The package is assembled from the repository's top-level folders: ``rt/`` installs as
:mod:`atomsynth.rt` (atom model, file format, renderers, real-time engine; no torch),
``offline/`` as :mod:`atomsynth.offline` (fitting, atomizer, language model; torch),
``gui/`` as :mod:`atomsynth.gui` (the desktop app) and ``presets/`` as
:mod:`atomsynth.presets` (resonance presets, example atom sets, rooms).

In a source checkout that is imported without installing (``python -m pytest`` from the
repository root, or a second git worktree) the sibling folders are found through this
package's ``__path__``; an installed wheel carries them inside the package.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "rt" / "__init__.py").is_file() and (_checkout / "pyproject.toml").is_file():
    __path__.append(str(_checkout))  # noqa: F821 - __path__ is defined for packages
