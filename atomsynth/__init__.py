"""atomsynth: sparse, interpretable audio atoms you can play and reshape live.

The repository keeps the parts in top-level folders: ``rt/`` (atom model, file format,
renderers, real-time engine; no torch), ``offline/`` (fitting, atomizer, language model;
torch), ``gui/`` (the desktop app) and ``presets/`` (resonance presets, example atom sets,
rooms). Each is linked into this package by a relative symbolic link
(``atomsynth/rt -> ../rt`` and so on), so every module has exactly one import name,
:mod:`atomsynth.rt.atoms` for example, that Python, pyright, jedi and IDEs resolve in a
plain checkout; a built wheel carries the linked folders as ordinary subpackages.
"""

__version__ = "0.1.0"
