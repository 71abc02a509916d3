"""Room impulse responses: the project's own generated rooms, and where rooms are looked up.

:func:`generate_room` builds a stereo impulse response from a simple physical model:

* early reflections from an image-source shoebox model (room dimensions in metres, one
  source and two receivers 20 cm apart, wall absorption per reflection, 1/r spreading,
  delays in whole samples), up to ``order`` reflections per axis;
* a diffuse tail of exponentially decaying Gaussian noise whose decay time depends on
  frequency (octave bands from 63 Hz to 16 kHz, ``T60(f)`` falling above 1 kHz as air and
  walls absorb highs), starting at the mixing time and faded in over it.

The result is normalized to unit energy per channel, so a send of 1 adds about as much
energy as the dry signal. ``python -m atomsynth.rt.rooms`` (or ``atomsynth rooms --rebuild``)
writes the bundled rooms to ``presets/rooms/<name>.flac``.

Rooms are found by name (case-insensitive file stem) in this order: explicit files given to
the effects bridge, the folder in the ``IMPULSE_RESPONSE_PATH`` environment variable (WAV or
FLAC), then the bundled ``presets/rooms/``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomsynth.rt.audio_io import is_audio_path
from atomsynth.rt.errors import EffectError

SPEED_OF_SOUND = 343.0


@dataclass(frozen=True)
class RoomModel:
    """Parameters of a generated room."""

    name: str
    description: str
    size_m: tuple[float, float, float]  # shoebox dimensions; (0, 0, 0) = no early reflections
    source_m: tuple[float, float, float]
    listener_m: tuple[float, float, float]
    reflection_gain: float  # pressure reflection coefficient of the walls
    order: int  # image-source order per axis
    t60_s: float  # decay time at 1 kHz
    hf_damping: float  # T60 falls as (f / 1 kHz)^-hf_damping above 1 kHz
    mixing_s: float  # start of the diffuse tail
    length_s: float
    seed: int


ROOMS: dict[str, RoomModel] = {
    "room": RoomModel("room", "small living room, 5 x 4 x 2.7 m, RT60 0.45 s", (5.0, 4.0, 2.7),
                      (1.4, 1.2, 1.5), (3.6, 2.6, 1.2), 0.8, 4, 0.45, 0.35, 0.012, 0.9, 11),
    "hall": RoomModel("hall", "concert hall, 40 x 25 x 15 m, RT60 2.1 s", (40.0, 25.0, 15.0),
                      (8.0, 12.5, 2.0), (26.0, 10.0, 4.0), 0.9, 3, 2.1, 0.5, 0.08, 3.5, 12),
    "plate": RoomModel("plate", "plate reverb: dense, bright, RT60 1.6 s, no early reflections",
                       (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0, 0, 1.6, 0.15,
                       0.002, 2.5, 13),
}
"""The bundled rooms (the example atom sets use ``room`` and ``hall``)."""


def _early(model: RoomModel, sample_rate: int, length: int, ear_dx: float) -> np.ndarray:
    out = np.zeros(length)
    if model.order <= 0:
        return out
    L = np.array(model.size_m)
    src = np.array(model.source_m)
    lis = np.array(model.listener_m) + np.array([ear_dx, 0.0, 0.0])
    rng = range(-model.order, model.order + 1)
    direct = float(np.linalg.norm(src - lis))
    for nx in rng:
        for ny in rng:
            for nz in rng:
                for px in (0, 1):
                    for py in (0, 1):
                        for pz in (0, 1):
                            p = np.array([px, py, pz])
                            n = np.array([nx, ny, nz])
                            img = (1 - 2 * p) * src + 2 * n * L
                            dist = float(np.linalg.norm(img - lis))
                            bounces = int(np.abs(n - p).sum() + np.abs(n).sum())
                            delay = (dist - direct) / SPEED_OF_SOUND
                            k = int(round(delay * sample_rate))
                            if 0 <= k < length:
                                out[k] += model.reflection_gain ** bounces * direct / max(dist,
                                                                                         1e-3)
    return out


def _tail(model: RoomModel, sample_rate: int, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(length)
    spec = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    t = np.arange(length) / sample_rate
    out = np.zeros(length)
    centres = 62.5 * 2.0 ** np.arange(9)  # 63 Hz .. 16 kHz
    logf = np.log2(np.maximum(freqs, 1.0))
    weights = np.exp(-0.5 * ((logf[None, :] - np.log2(centres)[:, None]) / 0.5) ** 2)
    weights /= weights.sum(axis=0, keepdims=True)
    for b, fc in enumerate(centres):
        t60 = model.t60_s * (fc / 1000.0) ** (-model.hf_damping if fc > 1000 else 0.0)
        band = np.fft.irfft(spec * weights[b], n=length)
        out += band * np.exp(-math.log(1000.0) * t / t60)
    fade = np.clip(t / max(model.mixing_s, 1e-4), 0.0, 1.0)
    return out * fade


def generate_room(name: str, *, sample_rate: int = 48000) -> np.ndarray:
    """The stereo impulse response of bundled room ``name``, float64, shape (2, samples)."""
    if name not in ROOMS:
        raise EffectError(f"room {name!r} is not a generated room; known: {sorted(ROOMS)}")
    model = ROOMS[name]
    length = int(model.length_s * sample_rate)
    chans = []
    for ch, dx in enumerate((-0.1, 0.1)):
        early = _early(model, sample_rate, length, dx)
        tail = _tail(model, sample_rate, length, model.seed * 10 + ch)
        if early.any():
            tail *= 0.5 * math.sqrt(np.sum(early**2) / max(np.sum(tail**2), 1e-30))
        ir = early + tail
        chans.append(ir / math.sqrt(np.sum(ir**2)))
    return np.stack(chans)


def rooms_dir() -> Path:
    from atomsynth.rt.presets import data_dir

    return data_dir() / "rooms"


def find_room_file(name: str, *, extra: dict[str, str | os.PathLike] | None = None
                   ) -> Path | None:
    """The impulse-response file of room ``name`` (see the module for the search order)."""
    if extra and name in extra:
        return Path(extra[name])
    dirs = []
    env = os.environ.get("IMPULSE_RESPONSE_PATH")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(rooms_dir())
    want = name.lower()
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            if is_audio_path(f) and f.stem.lower() == want:
                return f
    return None


def available_rooms() -> dict[str, Path]:
    """Every room name that can be found, mapped to its file (bundled ones last)."""
    found: dict[str, Path] = {}
    env = os.environ.get("IMPULSE_RESPONSE_PATH")
    dirs = [Path(p) for p in env.split(os.pathsep) if p] if env else []
    dirs.append(rooms_dir())
    for d in dirs:
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if is_audio_path(f):
                    found.setdefault(f.stem.lower(), f)
    return found


def write_bundled_rooms(*, sample_rate: int = 48000, directory: Path | None = None) -> list[Path]:
    """Generate every room of :data:`ROOMS` into ``directory`` (default ``presets/rooms``)."""
    from atomsynth.rt.audio_io import write_audio

    directory = rooms_dir() if directory is None else Path(directory)
    paths = []
    for name in ROOMS:
        ir = generate_room(name, sample_rate=sample_rate)
        path = directory / f"{name}.flac"
        write_audio(path, ir * 0.5, sample_rate, subtype="PCM_24")  # headroom for 24-bit
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover - regeneration helper
    for p in write_bundled_rooms():
        print("wrote", p)
