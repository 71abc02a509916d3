"""The exception hierarchy. Every error atomsynth raises on bad input derives from
:class:`AtomsynthError`, so a caller (the CLI, the app) can catch one root and show the message.
"""


class AtomsynthError(Exception):
    """Root of all errors atomsynth raises for bad input, files, devices or plugins."""


class ParameterError(AtomsynthError, ValueError):
    """A parameter is NaN, infinite, out of range, of the wrong type or inconsistent.

    The message names the atom index (when there is one), the parameter, the value and the
    allowed range.
    """


class AtomFileError(AtomsynthError):
    """An ``.atoms`` file is truncated, corrupted, of an unknown version, oversized or hostile."""


class PresetError(AtomsynthError):
    """A resonance preset file is missing, malformed or physically meaningless."""


class AudioDeviceError(AtomsynthError):
    """No usable audio output device, or the one asked for does not exist."""


class EffectError(AtomsynthError):
    """An impulse response or plugin could not be loaded or configured."""
