"""Atoms to SDIF and back: resonance models (``1RES``) and sinusoidal tracks (``1TRC``).

Export
------
* Every resonant atom is one ``1RES`` frame at its ``onset_s``, in its own stream (stream id =
  atom index + 1; the ``1TRC`` frames are stream 0), with one row per sounding mode:
  ``Frequency`` (Hz), ``Amplitude`` (linear), ``DecayRate`` (1/s) and ``Phase`` (radians),
  float32. This is the SDIF standard's
  resonance model, ``amp(t) = Amplitude * exp(-DecayRate * t)`` (the CNMAT ``resonators~``
  convention): ``DecayRate = ln(1000) / T_m``; ``Amplitude = gain * (1 - mix) * a_m /
  sqrt(sum a^2)``, the initial amplitude the mode rings with (the normalization of
  :func:`atomsynth.rt.burst.resonance_norm`), before pan; ``Phase = -pi/2`` because the modes
  are sines and SDIF sinusoids are cosines, ``A cos(2 pi f t + phase)``.
* With ``tracks=True``, every mode of every resonant atom is also a partial of ``1TRC`` frames
  (``Index, Frequency, Amplitude, Phase``: what SPEAR and AudioSculpt open): amplitude 0 at the
  onset, the mode's amplitude at ``onset + attack_s``, then its exponential decay sampled every
  3.75 dB down to -60 dB (``T_m``), where the partial ends. Every MDCT atom is a partial too:
  its centre frequency ``(bin + 1/2) sr / scale`` under its sine window (5 breakpoints over the
  frame's span, peak ``|value| sqrt(2 / N)``, ``N = scale / 2``). Frames of one time hold the
  rows of every partial sounding then; partial indices start at 1 and are never reused.
* An atomsynth extension makes a round trip exact: a ``1NVT`` entry ``atomsynth_header`` (the
  header as JSON: :mod:`~atomsynth.rt.interchange.header`) and one ``XATM`` frame at time 0
  holding the matrices ``XATM`` (resonant atoms, one row each, the columns of
  :data:`~atomsynth.rt.params.RESONANT_PARAMS`, float64) and ``XMDC`` (MDCT atoms), declared in
  ``1TYP``. Other tools skip frame types they do not use.

Import
------
If the file holds the ``XATM`` frame (and ``use_atom_params`` is true), the atoms come from it
exactly. Otherwise, atoms are made from the standard frames:

* a ``1RES`` frame becomes one resonant atom at the frame's time (atoms ordered by stream,
  then time) whose modes are the frame's
  rows to float32 precision: modes with frequency in (0, sr/2) and positive amplitude, sorted by
  frequency (equal frequencies keep the louder), at most the 64 loudest, ratios under 1000;
  ``f0_hz`` = the lowest frequency, ``t60_s`` = the longest ``T_m = ln(1000) / DecayRate``
  (clamped to [0.001, 120] s; a rate <= 0 gives 120 s); one mode table per distinct model
  (``sdif_1``, ``sdif_2``, ...; at most 1024) holds the ratios, relative gains and decays;
  ``gain_db`` is set so each mode rings with its ``Amplitude``. A one-mode frame needs no
  table. The phase column is not used (atoms start in sine phase). Excitation parameters
  take their defaults.
* in a file without ``1RES`` frames (the same sound twice is not wanted), a ``1TRC`` partial
  (rows of one ``Index``) becomes one single-mode resonant atom per note: a
  note starts where the partial starts or, after its peak, where its amplitude rises 6 dB over
  the lowest point since the peak. ``onset_s`` = the note's first breakpoint, ``attack_s`` =
  time to its loudest breakpoint (at least 0.1 ms), ``f0_hz`` = the frequency there,
  ``gain_db`` = its amplitude, ``t60_s`` from a least-squares fit of ``ln(amplitude)``
  against time after the peak (120 s for a partial that does not decay). MDCT atoms exported
  as tracks come back as such resonant atoms, not as MDCT atoms.

The sample rate (for the Nyquist limit) and channel count come from the header entry, else the
``1NVT`` entries ``SampleRate`` and ``NumChannels`` (both written on export), else 48 kHz and 2.
"""

from __future__ import annotations

import json
import math

import numpy as np

from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.interchange import sdif
from atomsynth.rt.interchange.header import header_dict, header_kwargs
from atomsynth.rt.modes import T60_MAX_S, T60_MIN_S, ModeTable, atom_modes
from atomsynth.rt.params import MAX_MODES, MDCT_PARAMS, RESONANT_PARAMS

LN1000 = math.log(1000.0)
EXT_STREAM = 0xFFFFFFF0
"""Stream id of the atomsynth extension frame."""
MAX_TABLES = 1024
TRACK_STEPS = 16
"""Decay breakpoints of a resonant mode's track: every 60/16 = 3.75 dB down to -60 dB."""
NOTE_RISE = 2.0
"""A partial's amplitude rising by this factor (6 dB) over its minimum since the peak starts a
new note."""
_CUTOFF_HZ = 96000.0
_COLS_1RES = ("Frequency", "Amplitude", "DecayRate", "Phase")
_COLS_1TRC = ("Index", "Frequency", "Amplitude", "Phase")


# --------------------------------------------------------------------------------- export
def resonance_models(atom_set: AtomSet) -> list[np.ndarray]:
    """The ``1RES`` rows of every resonant atom: float64 arrays of shape (modes, 4)."""
    res = atom_set.resonant
    bank = atom_modes(res, atom_set.mode_tables, atom_set.sample_rate)
    gains = 10.0 ** (res.gain_db / 20.0) * (1.0 - res.mix)
    out = []
    for i in range(len(res)):
        act = bank.active[i] & (bank.amp[i] > 0)
        amp = bank.amp[i, act]
        power = math.sqrt(float(np.sum(amp**2))) if amp.size else 1.0
        rows = np.empty((amp.size, 4))
        rows[:, 0] = bank.freq_hz[i, act]
        rows[:, 1] = gains[i] * amp / power
        rows[:, 2] = LN1000 / bank.t60_s[i, act]
        rows[:, 3] = -0.5 * math.pi
        out.append(rows)
    return out


def _resonant_breakpoints(atom_set: AtomSet, models: list[np.ndarray], first_index: int):
    res = atom_set.resonant
    pts = []
    index = first_index
    k = np.arange(TRACK_STEPS + 1)
    for i, rows in enumerate(models):
        onset, attack = float(res.onset_s[i]), float(res.attack_s[i])
        for f, a, rate, phase in rows:
            t60 = LN1000 / rate
            times = np.concatenate([[onset], onset + attack + t60 * k / TRACK_STEPS])
            amps = np.concatenate([[0.0], a * 10.0 ** (-3.0 * k / TRACK_STEPS)])
            pts.append(np.column_stack([times, np.full(times.size, index), np.full(times.size, f),
                                        amps, np.full(times.size, phase)]))
            index += 1
    return pts, index


def _mdct_breakpoints(atom_set: AtomSet, first_index: int):
    m = atom_set.mdct
    sr = float(atom_set.sample_rate)
    pts = []
    frac = np.linspace(0.0, 1.0, 5)
    for i in range(len(m)):
        hop = int(m.scale[i]) // 2
        start = (int(m.frame[i]) - 1) * hop
        freq = (int(m.bin[i]) + 0.5) * sr / int(m.scale[i])
        peak = abs(float(m.value[i])) * math.sqrt(2.0 / hop)
        times = (start + frac * 2 * hop) / sr
        amps = peak * np.sin(np.pi * frac)
        keep = times >= 0
        n = int(keep.sum())
        pts.append(np.column_stack([times[keep], np.full(n, first_index + i), np.full(n, freq),
                                    amps[keep], np.zeros(n)]))
    return pts


def _track_frames(points: list[np.ndarray]) -> list[sdif.Frame]:
    if not points:
        return []
    allp = np.concatenate(points)
    allp = allp[np.lexsort((allp[:, 1], allp[:, 0]))]
    frames = []
    cuts = np.flatnonzero(np.diff(allp[:, 0])) + 1
    for chunk in np.split(allp, cuts):
        frames.append(sdif.Frame("1TRC", float(chunk[0, 0]), 0,
                                 (sdif.Matrix("1TRC", chunk[:, 1:].astype(np.float32)),)))
    return frames


def to_sdif(atom_set: AtomSet, *, tracks: bool = False, resonances: bool = True,
            atom_params: bool = True) -> bytes:
    """The SDIF bytes of ``atom_set`` (see module).

    Parameters
    ----------
    tracks : bool
        Also write every mode and MDCT atom as ``1TRC`` partials.
    resonances : bool
        Write ``1RES`` resonance models (one frame per resonant atom).
    atom_params : bool
        Write the atomsynth extension frame that makes a round trip exact.
    """
    models = resonance_models(atom_set)
    frames: list[sdif.Frame] = []
    if resonances:
        res = atom_set.resonant
        frames += [sdif.Frame("1RES", float(res.onset_s[i]), i + 1,
                              (sdif.Matrix("1RES", rows.astype(np.float32)),))
                   for i, rows in enumerate(models)]
    if tracks:
        pts, nxt = _resonant_breakpoints(atom_set, models, 1)
        frames += _track_frames(pts + _mdct_breakpoints(atom_set, nxt))
    frames.sort(key=lambda f: f.time_s)  # stable: equal times keep 1RES before 1TRC
    nvt = {"creator": "atomsynth", "SampleRate": str(atom_set.sample_rate),
           "NumChannels": str(atom_set.channels)}
    types = None
    if atom_params:
        nvt["atomsynth_header"] = json.dumps(header_dict(atom_set))
        ext = sdif.Frame("XATM", 0.0, EXT_STREAM, (
            sdif.Matrix("XATM", _family_matrix(atom_set.resonant, RESONANT_PARAMS)),
            sdif.Matrix("XMDC", _family_matrix(atom_set.mdct, MDCT_PARAMS)),
        ))
        frames.insert(0, ext)
        types = sdif.types_text(
            {"XATM": [s.name for s in RESONANT_PARAMS], "XMDC": [s.name for s in MDCT_PARAMS]},
            {"XATM": [("XATM", "AtomsynthResonantAtoms"), ("XMDC", "AtomsynthMdctAtoms")]},
        )
    return sdif.to_bytes(frames, nvt=nvt, types=types)


def _family_matrix(atoms, specs) -> np.ndarray:
    return np.column_stack([atoms[s.name].astype(np.float64) for s in specs]).reshape(
        len(atoms), len(specs))


# --------------------------------------------------------------------------------- import
def from_sdif(data: bytes | sdif.SdifFile, *, use_atom_params: bool = True,
              where: str = "SDIF") -> AtomSet:
    """An atom set from SDIF bytes or a parsed file (see module)."""
    f = data if isinstance(data, sdif.SdifFile) else sdif.from_bytes(data)
    header = {}
    if "atomsynth_header" in f.nvt:
        try:
            header = json.loads(f.nvt["atomsynth_header"])
        except json.JSONDecodeError as exc:
            raise ParameterError(f"{where}: bad atomsynth_header: {exc}") from None
    kwargs = header_kwargs(header, where)
    for key, name in (("sample_rate", "SampleRate"), ("channels", "NumChannels")):
        if key not in kwargs and name in f.nvt:
            try:
                kwargs[key] = int(float(f.nvt[name]))
            except ValueError:
                raise ParameterError(f"{where}: {name} {f.nvt[name]!r} is not a "
                                     "number") from None
    ext = next((fr for fr in f.frames if fr.signature == "XATM"), None)
    if use_atom_params and ext is not None:
        kwargs["resonant"] = _family_from_matrix(ext.matrix("XATM"), ResonantAtoms,
                                                 RESONANT_PARAMS, f, where)
        kwargs["mdct"] = _family_from_matrix(ext.matrix("XMDC"), MdctAtoms, MDCT_PARAMS, f, where)
        return _atom_set(kwargs, where)
    sr = float(kwargs.get("sample_rate", 48000))
    tables = list(kwargs.get("mode_tables", ()))
    n_fixed = len(tables)
    models = []
    for fr in f.frames:
        if fr.signature == "1RES":
            for m in fr.matrices:
                if m.signature == "1RES":
                    atom = _atom_from_model(m.data, fr.time_s, sr, tables, n_fixed,
                                            f"{where}: 1RES frame at {fr.time_s} s")
                    if atom is not None:
                        models.append((fr.stream, fr.time_s, atom))
    models.sort(key=lambda x: x[:2])  # by stream, then time: the exported atom order
    parts = [atom for _, _, atom in models] or _atoms_from_tracks(f.frames, sr, where)
    kwargs["mode_tables"] = tuple(tables)
    kwargs["resonant"] = ResonantAtoms.concat(parts)
    kwargs["mdct"] = MdctAtoms.empty()
    kwargs.pop("duration_s", None)
    return _atom_set(kwargs, where)


def _atom_set(kwargs, where: str) -> AtomSet:
    try:
        return AtomSet(**kwargs)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _family_from_matrix(m, cls, specs, f: sdif.SdifFile, where: str):
    if m is None:
        return cls.empty()
    data = np.asarray(m.data, dtype=np.float64) if not isinstance(m.data, str) else None
    names = f.matrix_types.get(m.signature, tuple(s.name for s in specs))
    if data is None or data.shape[1] != len(names):
        raise ParameterError(f"{where}: {m.signature} matrix does not match its declared "
                             f"columns {list(names)}")
    try:
        return cls(data.shape[0], **{name: data[:, j] for j, name in enumerate(names)})
    except ParameterError as exc:
        raise ParameterError(f"{where}: {m.signature}: {exc}") from None


def _atom_from_model(data, time_s: float, sr: float, tables: list, n_fixed: int,
                     where: str) -> ResonantAtoms | None:
    if isinstance(data, str) or data.ndim != 2 or data.shape[1] < 3:
        raise ParameterError(f"{where}: a 1RES matrix needs the columns {list(_COLS_1RES)}")
    rows = np.asarray(data[:, :3], dtype=np.float64)
    rows = rows[np.isfinite(rows).all(axis=1) & (rows[:, 0] > 0) & (rows[:, 0] < 0.5 * sr)
                & (rows[:, 1] > 0)]
    if not rows.size:
        return None
    if rows.shape[0] > MAX_MODES:
        rows = rows[np.argsort(-rows[:, 1], kind="stable")[:MAX_MODES]]
    rows = rows[np.lexsort((-rows[:, 1], rows[:, 0]))]
    rows = rows[np.concatenate([[True], np.diff(rows[:, 0]) > 0])]  # equal freq: keep louder
    f0 = rows[0, 0]
    rows = rows[rows[:, 0] < 1000.0 * f0]
    freq, amp, rate = rows[:, 0], rows[:, 1], rows[:, 2]
    with np.errstate(divide="ignore"):
        t60 = np.where(rate > 0, LN1000 / np.where(rate > 0, rate, 1.0), T60_MAX_S)
    t60 = np.clip(t60, T60_MIN_S, T60_MAX_S)
    lowpass = np.exp(-0.5 * (freq / _CUTOFF_HZ) ** 2)
    gain = math.sqrt(float(np.sum(amp**2)))
    gain_db = 20.0 * math.log10(gain)
    if not RESONANT_PARAMS[1].lo <= gain_db <= RESONANT_PARAMS[1].hi:
        raise ParameterError(f"{where}: amplitudes give gain_db = {gain_db:.2f}, out of range; "
                             f"allowed {RESONANT_PARAMS[1].range_text()}")
    common = dict(onset_s=[max(time_s, 0.0)], gain_db=[gain_db], f0_hz=[f0],
                  t60_s=[float(t60.max())], damping=[0.0], brightness=[1.0],
                  cutoff_hz=[_CUTOFF_HZ], n_modes=[freq.size])
    if freq.size == 1:
        return ResonantAtoms(1, **common)
    rel = amp / lowpass
    table = ModeTable(name="sdif", ratios=freq / f0, gains=rel / rel.max(),
                      decays=t60 / t60.max(), description="resonance model read from SDIF 1RES")
    index = next((j for j in range(n_fixed, len(tables))
                  if _same_modes(tables[j], table)), None)
    if index is None:
        if len(tables) >= MAX_TABLES:
            raise ParameterError(f"{where}: more than {MAX_TABLES} distinct resonance models")
        index = len(tables)
        tables.append(ModeTable(name=f"sdif_{index - n_fixed + 1}", ratios=table.ratios,
                                gains=table.gains, decays=table.decays,
                                description=table.description))
    return ResonantAtoms(1, preset=[index], **common)


def _same_modes(a: ModeTable, b: ModeTable) -> bool:
    return (len(a) == len(b) and np.array_equal(a.ratios, b.ratios)
            and np.array_equal(a.gains, b.gains) and np.array_equal(a.decays, b.decays))


def _atoms_from_tracks(frames, sr: float, where: str) -> list[ResonantAtoms]:
    rows = []
    for fr in frames:
        if fr.signature != "1TRC":
            continue
        for m in fr.matrices:
            if m.signature != "1TRC":
                continue
            if isinstance(m.data, str) or m.data.ndim != 2 or m.data.shape[1] < 3:
                raise ParameterError(f"{where}: 1TRC frame at {fr.time_s} s: a 1TRC matrix "
                                     f"needs the columns {list(_COLS_1TRC)}")
            d = np.asarray(m.data[:, :3], dtype=np.float64)
            rows.append(np.column_stack([np.full(d.shape[0], fr.time_s), d]))
    if not rows:
        return []
    allr = np.concatenate(rows)
    allr = allr[np.isfinite(allr).all(axis=1)]
    allr = allr[np.lexsort((allr[:, 0], allr[:, 1]))]  # by index, then time
    out = []
    for part in np.split(allr, np.flatnonzero(np.diff(allr[:, 1])) + 1):
        for note in _split_notes(part[:, 0], part[:, 2], part[:, 3]):
            atom = _atom_from_note(*note, sr)
            if atom is not None:
                out.append(atom)
    return out


def _split_notes(t, f, a):
    """Cut one partial into notes at re-attacks (see module)."""
    start, peak, low = 0, 0, -1
    for j in range(1, t.size):
        if low < 0:  # rising towards the peak
            if a[j] >= a[peak]:
                peak = j
            else:
                low = j
        elif a[j] < a[low]:
            low = j
        elif a[j] > NOTE_RISE * a[low]:
            yield t[start:low + 1], f[start:low + 1], a[start:low + 1]
            start, peak, low = low, j, -1
    yield t[start:], f[start:], a[start:]


def _atom_from_note(t, f, a, sr: float) -> ResonantAtoms | None:
    p = int(np.argmax(a))
    if a[p] <= 0 or not 0 < f[p] < 0.5 * sr:
        return None
    gain_db = 20.0 * math.log10(a[p])
    spec = RESONANT_PARAMS[1]
    if not spec.lo <= gain_db <= spec.hi:
        return None
    after = (np.arange(t.size) >= p) & (a > 0)
    t60 = T60_MAX_S
    if after.sum() >= 2:
        tt, la = t[after] - t[p], np.log(a[after])
        slope = float(np.polyfit(tt, la, 1)[0]) if np.ptp(tt) > 0 else 0.0
        if slope < 0:
            t60 = LN1000 / -slope
    return ResonantAtoms(1, onset_s=[max(float(t[0]), 0.0)], gain_db=[gain_db],
                         f0_hz=[float(f[p])], t60_s=[float(np.clip(t60, T60_MIN_S, T60_MAX_S))],
                         attack_s=[float(np.clip(t[p] - t[0], 1e-4, 10.0))], n_modes=[1],
                         cutoff_hz=[_CUTOFF_HZ], damping=[0.0])


__all__ = ["from_sdif", "resonance_models", "to_sdif"]
