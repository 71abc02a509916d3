"""atomsynth.rt: the atom model, the ``.atoms`` file format, renderers and the real-time engine.

Nothing in this package imports torch, PySide6 or any other part of atomsynth.
"""

from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import AtomFileError, AtomsynthError, ParameterError, PresetError

__all__ = [
    "AtomSet",
    "AtomFileError",
    "AtomsynthError",
    "MdctAtoms",
    "ParameterError",
    "PresetError",
    "ResonantAtoms",
]
