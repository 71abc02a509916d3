"""Resonant atoms as MIDI notes and back (Standard MIDI File, type 1; needs ``mido``).

Export: one track per group (named after the group), preceded by a tempo track (120 bpm,
``PPQ`` ticks per beat, default 960: one tick is 1/1920 s). Every resonant atom is a note:

* on at ``onset_s`` (rounded to a tick), the nearest MIDI note to ``f0_hz`` (note 69 = 440 Hz)
  plus a pitch bend for the rest, sent just before the note on its channel, with a bend range
  of +-2 semitones (set on every channel with RPN 0): 16384 steps over 4 semitones, so the
  pitch is exact to 0.012 cent; pitches outside notes 0..127 +- 2 semitones are clipped;
* velocity ``127 + 2 * gain_db`` (0.5 dB per step; 0 dB and louder is 127, -63 dB and softer
  is 1);
* off after ``t60_s`` (the time the fundamental takes to decay by 60 dB), rounded to a tick.

Pitch bend acts on a whole channel, so notes take turns on the 15 melodic channels (all but
channel 10, the General MIDI drum channel) in the MPE manner: a note gets a channel that is
silent at its onset (and was already at the tick before). More than 15 overlapping notes share
channels, and then a later bend retunes the earlier note too. MDCT atoms are not exported.

Import (a plain mapping, the inverse of the above): every note becomes a resonant atom with
``onset_s``, ``f0_hz`` (note plus the channel's bend and bend range, RPN 0 when the file sets
it, else 2 semitones), ``gain_db = (velocity - 127) / 2``, ``t60_s`` = the note's length
(clamped to [0.001, 120] s) and ``group`` = the index of its track among the tracks that have
notes (the track names become the group names); the other parameters take their defaults.
Tempo changes are followed.
"""

from __future__ import annotations

import numpy as np

from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.modes import T60_MAX_S, T60_MIN_S

PPQ = 960
TEMPO_US = 500_000  # 120 bpm
BEND_SEMITONES = 2.0
CHANNELS = tuple(c for c in range(16) if c != 9)


def _mido():
    try:
        import mido
    except ImportError:
        raise AtomsynthError("MIDI needs the mido package: pip install mido") from None
    return mido


def note_and_bend(f0_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest MIDI note (0..127) and 14-bit signed pitch bend (-8192..8191) of each pitch."""
    pitch = 69.0 + 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / 440.0)
    note = np.clip(np.round(pitch), 0, 127).astype(np.int64)
    bend = np.round((pitch - note) / BEND_SEMITONES * 8192.0)
    return note, np.clip(bend, -8192, 8191).astype(np.int64)


def velocity_of(gain_db: np.ndarray) -> np.ndarray:
    """MIDI velocity (1..127) of each gain: ``127 + 2 gain_db``."""
    return np.clip(np.round(127.0 + 2.0 * np.asarray(gain_db)), 1, 127).astype(np.int64)


def to_midi(atom_set: AtomSet, *, ppq: int = PPQ) -> bytes:
    """The Standard MIDI File bytes of the set's resonant atoms (see module)."""
    mido = _mido()
    if not 24 <= ppq <= 32767:
        raise ParameterError(f"ppq = {ppq!r} is out of range; allowed [24, 32767]")
    res = atom_set.resonant
    ticks_per_s = ppq * 1e6 / TEMPO_US
    on = np.round(res.onset_s * ticks_per_s).astype(np.int64)
    off = on + np.maximum(1, np.round(res.t60_s * ticks_per_s).astype(np.int64))
    note, bend = note_and_bend(res.f0_hz)
    vel = velocity_of(res.gain_db)
    # Channel allocation over all notes in time order: a channel silent at the onset.
    chan = np.zeros(len(res), dtype=np.int64)
    free_at = {c: -1 for c in CHANNELS}
    for i in np.argsort(on, kind="stable"):
        # strictly after the last note-off: tracks merged by a player keep no order within
        # a tick, and a note-off must not meet the next note of its channel there
        c = next((c for c in CHANNELS if free_at[c] < on[i]), None)
        if c is None:
            c = min(CHANNELS, key=lambda c: free_at[c])
        chan[i] = c
        free_at[c] = max(free_at[c], off[i])
    mid = mido.MidiFile(type=1, ticks_per_beat=ppq)
    head = mido.MidiTrack()
    head.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US, time=0))
    for c in sorted(set(chan.tolist())):
        for ctl, val in ((101, 0), (100, 0), (6, int(BEND_SEMITONES)), (38, 0)):
            head.append(mido.Message("control_change", channel=c, control=ctl, value=val))
    mid.tracks.append(head)
    for g in atom_set.groups:
        idx = np.flatnonzero(res.group == g)
        if not idx.size:
            continue
        events = []  # (tick, order, message): offs before bends before ons at one tick
        for i in idx:
            c = int(chan[i])
            events.append((int(on[i]), 1, mido.Message("pitchwheel", channel=c,
                                                       pitch=int(bend[i]))))
            events.append((int(on[i]), 2, mido.Message("note_on", channel=c, note=int(note[i]),
                                                       velocity=int(vel[i]))))
            events.append((int(off[i]), 0, mido.Message("note_off", channel=c,
                                                         note=int(note[i]), velocity=0)))
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=atom_set.group_name(int(g)), time=0))
        now = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    import io

    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def from_midi(data: bytes, *, sample_rate: int = 48000, where: str = "MIDI") -> AtomSet:
    """Resonant atoms from Standard MIDI File bytes (see module)."""
    import io

    mido = _mido()
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ParameterError(f"{where}: not a readable MIDI file: {exc}") from None
    tempo_map = _tempo_map(mid)
    cols: dict[str, list] = {k: [] for k in ("onset_s", "f0_hz", "gain_db", "t60_s", "group")}
    names: list[str] = []
    for track in mid.tracks:
        notes = _track_notes(track, mid.ticks_per_beat, tempo_map)
        if not notes:
            continue
        group = len(names)
        name = next((m.name for m in track if m.type == "track_name" and m.name), "")
        names.append(name or f"track {group}")
        for onset, pitch, vel, dur in notes:
            cols["onset_s"].append(onset)
            cols["f0_hz"].append(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))
            cols["gain_db"].append((vel - 127) / 2.0)
            cols["t60_s"].append(min(max(dur, T60_MIN_S), T60_MAX_S))
            cols["group"].append(group)
    try:
        atoms = ResonantAtoms(len(cols["onset_s"]), **{k: np.array(v) for k, v in cols.items()})
        return AtomSet(sample_rate=sample_rate, resonant=atoms, group_names=tuple(names),
                       provenance={"imported_from": "midi"})
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _tempo_map(mid) -> list[tuple[int, float, int]]:
    """``(tick, seconds at tick, tempo)`` at every tempo change (type 0/1: all tracks)."""
    changes = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    changes.sort()
    out = [(0, 0.0, TEMPO_US)]
    for tick, tempo in changes:
        t0, s0, tp = out[-1]
        out.append((tick, s0 + (tick - t0) * tp / (1e6 * mid.ticks_per_beat), tempo))
    return out


def _seconds(tick: int, ppq: int, tempo_map) -> float:
    t0, s0, tp = next(e for e in reversed(tempo_map) if e[0] <= tick)
    return s0 + (tick - t0) * tp / (1e6 * ppq)


def _track_notes(track, ppq: int, tempo_map) -> list[tuple[float, float, int, float]]:
    """``(onset_s, fractional MIDI pitch, velocity, length_s)`` of every note of a track."""
    tick = 0
    bend = [0] * 16
    bend_range = [BEND_SEMITONES] * 16
    rpn = [[127, 127] for _ in range(16)]
    sounding: dict[tuple[int, int], list] = {}
    notes = []
    for msg in track:
        tick += msg.time
        if msg.type == "pitchwheel":
            bend[msg.channel] = msg.pitch
        elif msg.type == "control_change":
            c = msg.channel
            if msg.control in (101, 100):
                rpn[c][msg.control - 100] = msg.value
            elif msg.control == 6 and rpn[c] == [0, 0]:
                bend_range[c] = float(msg.value)
        elif msg.type == "note_on" and msg.velocity > 0:
            pitch = msg.note + bend[msg.channel] / 8192.0 * bend_range[msg.channel]
            sounding.setdefault((msg.channel, msg.note), []).append((tick, pitch, msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            stack = sounding.get((msg.channel, msg.note))
            if stack:
                on, pitch, vel = stack.pop(0)
                start = _seconds(on, ppq, tempo_map)
                notes.append((start, pitch, vel, _seconds(tick, ppq, tempo_map) - start))
    for stack in sounding.values():  # never released: ring to the end of the track
        for on, pitch, vel in stack:
            start = _seconds(on, ppq, tempo_map)
            notes.append((start, pitch, vel, _seconds(tick, ppq, tempo_map) - start))
    notes.sort()
    return notes


def quantization(ppq: int = PPQ) -> dict[str, float]:
    """The largest round-trip errors: onset and t60 in s, pitch in cents, gain in dB."""
    tick_s = TEMPO_US / 1e6 / ppq
    return {"onset_s": tick_s / 2, "t60_s": tick_s / 2, "cents": 100 * BEND_SEMITONES / 8192 / 2,
            "gain_db": 0.25}


__all__ = ["from_midi", "note_and_bend", "quantization", "to_midi", "velocity_of"]
