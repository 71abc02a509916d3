"""Atoms out and back in: SDIF (1RES resonance models, 1TRC tracks), MIDI, CSV and JSON.

Tolerances: CSV, JSON and SDIF with atomsynth's extension frame are exact (equal sets);
SDIF 1RES modes within float32 rounding (relative 2^-24 per value) and their renders within
3e-5 of the peak; 1TRC partials within float32; MIDI within the quantization of
:func:`atomsynth.rt.interchange.midi.quantization`.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from atomsynth.cli import main
from atomsynth.commands._common import load_atoms
from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.atomfile import load
from atomsynth.rt.errors import AtomFileError, ParameterError
from atomsynth.rt.interchange import midi, sdif, table
from atomsynth.rt.interchange.formats import export_file, format_of, import_file
from atomsynth.rt.interchange.sdif_atoms import from_sdif, resonance_models, to_sdif
from atomsynth.rt.modes import atom_modes
from atomsynth.rt.reference import render

F32 = 2.0**-24  # relative rounding of a float32
EXAMPLES = ("bells", "marimba_phrase", "drum_pattern")


def mixed_set(rng) -> AtomSet:
    """Resonant atoms of every kind (parametric and preset) plus MDCT atoms, two groups."""
    _, bells = load_atoms("bells")
    n = 12
    mdct = MdctAtoms(scale=rng.choice([256, 1024, 2048], n), frame=rng.integers(1, 40, n),
                     bin=rng.integers(0, 100, n), channel=rng.integers(0, 2, n),
                     value=rng.normal(0, 0.3, n), group=2)
    return bells.replace(mdct=mdct, group_names=("a", "b", "mdct"), duration_s=None)


def plain_resonant(rng, n: int = 8) -> ResonantAtoms:
    """Atoms whose excitation is the default one (seed 0): what 1RES and MIDI can carry."""
    return ResonantAtoms(
        onset_s=np.sort(rng.uniform(0, 1.5, n)), f0_hz=rng.uniform(110, 880, n),
        t60_s=rng.uniform(0.2, 1.5, n), gain_db=rng.uniform(-30, -3, n),
        damping=rng.uniform(0, 1, n), brightness=rng.uniform(0.3, 0.9, n),
        inharmonicity=rng.uniform(0, 1e-3, n), n_modes=rng.integers(1, 12, n),
        group=rng.integers(0, 2, n))


# ---------------------------------------------------------------------------- CSV and JSON
@pytest.mark.parametrize("name", EXAMPLES)
def test_tables_round_trip_exactly(name):
    _, atom_set = load_atoms(name)
    assert table.from_csv(table.to_csv(atom_set)) == atom_set
    assert table.from_json(table.to_json(atom_set)) == atom_set


def test_tables_hold_both_families_with_every_parameter(rng):
    atom_set = mixed_set(rng)
    text = table.to_csv(atom_set)
    assert table.from_csv(text) == atom_set
    assert table.from_json(table.to_json(atom_set)) == atom_set
    columns = text.splitlines()[1].split(",")
    assert columns == list(table.COLUMNS)
    from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS

    assert set(columns) == {"family"} | {s.name for s in RESONANT_PARAMS + MDCT_PARAMS}
    assert len(text.splitlines()) == 2 + len(atom_set.resonant) + len(atom_set.mdct)


def _csv_with(atom_set, column: str, value: str, family: str = "resonant") -> tuple[str, int]:
    lines = table.to_csv(atom_set).splitlines()
    names = lines[1].split(",")
    for i, line in enumerate(lines[2:], start=2):
        cells = line.split(",")
        if cells[0] == family:
            cells[names.index(column)] = value
            lines[i] = ",".join(cells)
            return "\n".join(lines) + "\n", i + 1
    raise AssertionError


@pytest.mark.parametrize("column, value, message", [
    ("f0_hz", "0.5", "out of range"),
    ("f0_hz", "abc", "not a number"),
    ("t60_s", "nan", "not finite"),
    ("n_modes", "3.5", "not an integer"),
    ("gain_db", "", "empty"),
    ("scale", "2048", "no such parameter"),
])
def test_csv_errors_name_line_and_column(rng, column, value, message):
    text, line = _csv_with(mixed_set(rng), column, value)
    with pytest.raises(ParameterError, match=message) as info:
        table.from_csv(text, where="t.csv")
    assert f"t.csv, line {line}" in str(info.value)
    if message != "no such parameter":
        assert f"column {column}" in str(info.value)


def test_csv_and_json_reject_what_they_do_not_know(rng):
    atom_set = mixed_set(rng)
    text = table.to_csv(atom_set).replace(",value\n", ",valeu\n", 1)
    with pytest.raises(ParameterError, match="unknown column.*valeu"):
        table.from_csv(text)
    text, line = _csv_with(atom_set, "bin", "9999", family="mdct")
    with pytest.raises(ParameterError, match=f"line {line}, column bin.*out of range"):
        table.from_csv(text)
    import json

    doc = json.loads(table.to_json(atom_set))
    doc["resonant"][3]["pan"] = 2.0
    with pytest.raises(ParameterError, match="resonant row 3, column pan.*out of range"):
        table.from_json(json.dumps(doc))
    doc["resonant"][3]["pan"] = True
    with pytest.raises(ParameterError, match="row 3, column pan: True is not a number"):
        table.from_json(json.dumps(doc))
    doc["resonant"][3] = {"f0_hz": 440.0, "tempo": 1}
    with pytest.raises(ParameterError, match="unknown column 'tempo'"):
        table.from_json(json.dumps(doc))
    with pytest.raises(ParameterError, match="not an atomsynth table"):
        table.from_json('{"resonant": []}')


def test_a_table_from_elsewhere_takes_defaults_for_missing_columns():
    text = "family,onset_s,f0_hz,group\nresonant,0.5,440,1\nresonant,1,660,0\n"
    atom_set = table.from_csv(text)
    assert np.array_equal(atom_set.resonant.f0_hz, [440.0, 660.0])
    assert np.array_equal(atom_set.resonant.t60_s, [1.0, 1.0])  # the default
    assert atom_set.sample_rate == 48000


# ------------------------------------------------------------------------------------ SDIF
@pytest.mark.parametrize("name", EXAMPLES)
def test_sdif_with_the_extension_round_trips_exactly(name):
    _, atom_set = load_atoms(name)
    assert from_sdif(to_sdif(atom_set, tracks=True)) == atom_set


def test_sdif_extension_carries_mdct_atoms(rng):
    atom_set = mixed_set(rng)
    assert from_sdif(to_sdif(atom_set)) == atom_set


@pytest.mark.parametrize("name", EXAMPLES)
def test_sdif_1res_modes_within_float32(name):
    _, atom_set = load_atoms(name)
    back = from_sdif(to_sdif(atom_set, atom_params=False))
    assert len(back.resonant) == len(atom_set.resonant)
    assert np.allclose(back.resonant.onset_s, atom_set.resonant.onset_s, rtol=0, atol=0)
    for a, b in zip(resonance_models(atom_set), resonance_models(back)):
        a = a[np.argsort(a[:, 0])]
        assert a.shape == b.shape
        # frequency, amplitude and decay rate: each a float32 rounding of the original
        assert np.all(np.abs(b[:, :3] / a[:, :3] - 1) <= 1.01 * F32)


def test_sdif_1res_renders_like_the_originals(rng):
    atoms = plain_resonant(rng)
    atom_set = AtomSet(sample_rate=16000, channels=1, resonant=atoms)
    back = from_sdif(to_sdif(atom_set, atom_params=False))
    assert back.sample_rate == 16000
    x = render(atom_set, duration_s=2.0)
    y = render(back, duration_s=2.0)
    # float32 frequencies drift the phase by 2 pi f t 2^-24: about 1e-5 of the peak in 2 s
    assert np.max(np.abs(y - x)) <= 3e-5 * np.max(np.abs(x))


def test_sdif_tracks_become_one_atom_per_partial(rng):
    atoms = plain_resonant(rng).with_columns(n_modes=1, attack_s=rng.uniform(0.001, 0.02, 8),
                                             inharmonicity=0.0)
    atom_set = AtomSet(sample_rate=16000, channels=1, resonant=atoms)
    back = from_sdif(to_sdif(atom_set, tracks=True, resonances=False, atom_params=False))
    a, b = atoms, back.resonant
    assert len(b) == len(a)
    order = np.argsort(b.onset_s, kind="stable")
    b = b.select(order)
    assert np.allclose(b.onset_s, a.onset_s, rtol=0, atol=1e-12)  # float64 frame times
    assert np.all(np.abs(b.f0_hz / a.f0_hz - 1) <= F32)
    assert np.allclose(b.attack_s, a.attack_s, rtol=1e-9, atol=1e-12)
    assert np.allclose(b.t60_s, a.t60_s, rtol=1e-5)  # a fit to float32 amplitudes
    assert np.allclose(b.gain_db, a.gain_db, atol=1e-5)


def test_sdif_tracks_of_mdct_atoms_sit_at_the_bin_centres():
    m = MdctAtoms(scale=[1024, 256], frame=[4, 30], bin=[20, 7], value=[0.5, -0.2])
    atom_set = AtomSet(sample_rate=16000, channels=1, mdct=m)
    back = from_sdif(to_sdif(atom_set, tracks=True, atom_params=False)).resonant
    assert len(back) == 2
    back = back.select(np.argsort(back.onset_s))
    assert np.allclose(back.f0_hz, [20.5 * 16000 / 1024, 7.5 * 16000 / 256], rtol=F32)
    assert np.allclose(back.onset_s, [3 * 512 / 16000, 29 * 128 / 16000])
    assert np.allclose(10 ** (back.gain_db / 20), [0.5 * math.sqrt(2 / 512),
                                                   0.2 * math.sqrt(2 / 128)], rtol=1e-6)


def test_a_partial_with_two_strikes_becomes_two_notes():
    t = np.array([0.0, 0.01, 0.11, 0.21, 0.31, 0.32, 0.42, 0.52])
    a = np.array([0.0, 0.5, 0.25, 0.125, 0.0625, 0.4, 0.2, 0.1])
    frames = [sdif.Frame("1TRC", float(ti), 0, (sdif.Matrix(
        "1TRC", np.array([[7, 300.0, ai, 0.0]], dtype=np.float32)),)) for ti, ai in zip(t, a)]
    back = from_sdif(sdif.to_bytes(frames)).resonant
    assert len(back) == 2
    assert np.allclose(back.onset_s, [0.0, 0.31])
    assert np.allclose(10 ** (back.gain_db / 20), [0.5, 0.4], rtol=1e-6)
    # halving every 0.1 s: 60 dB in 0.1 ln(1000) / ln(2) s
    assert np.allclose(back.t60_s, 0.1 * math.log(1000) / math.log(2), rtol=1e-6)


def _spec_bytes() -> bytes:
    """An SDIF file built byte by byte from the standard (no SDIF library involved)."""
    def matrix(sig, rows):
        data = np.asarray(rows, dtype=">f4")
        body = data.tobytes()
        return struct.pack(">4siii", sig, 4, *data.shape) + body + b"\0" * (-len(body) % 8)

    def frame(sig, time_s, stream, *matrices):
        body = b"".join(matrices)
        return struct.pack(">4sidii", sig, 16 + len(body), time_s, stream, len(matrices)) + body

    text = b"SampleRate\t22050\n\0"
    nvt = struct.pack(">4siii", b"1NVT", 0x0301, len(text), 1) + text + b"\0" * (-len(text) % 8)
    return (b"SDIF" + struct.pack(">iii", 8, 3, 1)
            + frame(b"1NVT", -1.0, -3, nvt)
            + frame(b"1RES", 0.25, 0, matrix(b"1RES", [[200.0, 0.1, 6.9, 0.0],
                                                       [530.0, 0.05, 13.8, 0.0],
                                                       [30000.0, 0.5, 1.0, 0.0]]))
            + frame(b"1RES", 0.5, 1, matrix(b"1RES", [[440.0, 0.2, 0.0, 1.0]])))


def test_a_hand_built_sdif_file_imports():
    back = from_sdif(_spec_bytes())
    assert back.sample_rate == 22050
    res = back.resonant
    assert len(res) == 2
    bank = atom_modes(res, back.mode_tables, back.sample_rate)
    # the 30 kHz mode is over Nyquist and dropped; decay rate 0 rings for the longest, 120 s
    assert np.allclose(bank.freq_hz[0, :2], [200.0, 530.0]) and not bank.active[0, 2:].any()
    assert np.allclose(bank.t60_s[0, :2], [math.log(1000) / 6.9, math.log(1000) / 13.8],
                       rtol=1e-6)
    assert res.f0_hz[1] == 440.0 and res.t60_s[1] == 120.0 and res.n_modes[1] == 1
    rows = resonance_models(back)
    assert np.allclose(rows[0][:, 1], [0.1, 0.05], rtol=1e-6)
    assert np.allclose(rows[1][:, 1], [0.2], rtol=1e-6)


def test_a_file_written_by_pysdif3_imports(tmp_path):
    pysdif = pytest.importorskip("pysdif")
    path = tmp_path / "lib.sdif"
    f = pysdif.SdifFile(str(path), "w")
    f.add_NVT({"SampleRate": "44100", "creator": "pysdif3"})
    models = {0.1: np.array([[220.0, 0.3, 2.0, 0.0], [447.0, 0.1, 5.0, 0.0]]),
              0.6: np.array([[330.0, 0.2, 3.0, 0.0]])}
    for t, rows in models.items():
        f.new_frame_one_matrix("1RES", t, "1RES", rows.astype(np.float32))
    f.close()
    back = from_sdif(sdif.read(path))
    assert back.sample_rate == 44100
    assert np.allclose(back.resonant.onset_s, [0.1, 0.6])
    for rows, got in zip(models.values(), resonance_models(back)):
        want = rows.astype(np.float32).astype(np.float64)
        assert np.all(np.abs(got[:, :3] / want[:, :3] - 1) <= 1e-12)

    path = tmp_path / "tracks.sdif"
    f = pysdif.SdifFile(str(path), "w")
    times = np.arange(0, 0.5, 0.01)
    for t in times:
        f.new_frame_one_matrix("1TRC", float(t), "1TRC", np.array(
            [[1, 500.0, 0.5 * 10 ** (-3 * t), 0.0], [2, 1500.0, 0.25 * 10 ** (-6 * t), 0.0]]))
    f.close()
    back = from_sdif(sdif.read(path)).resonant
    assert len(back) == 2
    assert np.allclose(back.f0_hz, [500.0, 1500.0])
    assert np.allclose(back.t60_s, [1.0, 0.5], rtol=1e-6)
    assert np.allclose(back.gain_db, [20 * math.log10(0.5), 20 * math.log10(0.25)])


def test_sdif_reader_rejects_broken_files():
    good = _spec_bytes()
    with pytest.raises(AtomFileError, match="not an SDIF file"):
        sdif.from_bytes(b"RIFF" + good[4:])
    for cut in (10, 40, len(good) - 4):
        with pytest.raises(AtomFileError):
            sdif.from_bytes(good[:cut])
    bad = bytearray(good)
    pos = good.index(b"1RES", good.index(b"1RES") + 4) + 8  # the first matrix's row count
    bad[pos:pos + 4] = struct.pack(">i", 1 << 20)
    with pytest.raises(AtomFileError, match="overrun"):
        sdif.from_bytes(bytes(bad))
    with pytest.raises(AtomFileError, match="out of time order"):
        sdif.to_bytes([sdif.Frame("1TRC", 1.0, 0), sdif.Frame("1TRC", 0.5, 0)])


# ------------------------------------------------------------------------------------ MIDI
def test_midi_round_trip_within_its_quantization(rng):
    atoms = plain_resonant(rng, 30).with_columns(gain_db=rng.uniform(-63, 0, 30),
                                                 group=rng.integers(0, 3, 30))
    atom_set = AtomSet(resonant=atoms, group_names=("low", "mid", "high"))
    back = midi.from_midi(midi.to_midi(atom_set))
    assert back.group_names == ("low", "mid", "high")
    q = midi.quantization()
    a, b = atoms, back.resonant
    ia = np.lexsort((a.f0_hz, a.onset_s, a.group))
    ib = np.lexsort((b.f0_hz, b.onset_s, b.group))
    assert len(a) == len(b)
    assert np.array_equal(a.group[ia], b.group[ib])
    assert np.max(np.abs(b.onset_s[ib] - a.onset_s[ia])) <= q["onset_s"] + 1e-12
    assert np.max(np.abs(b.t60_s[ib] - a.t60_s[ia])) <= q["t60_s"] + 1e-12
    cents = 1200 * np.log2(b.f0_hz[ib] / a.f0_hz[ia])
    assert np.max(np.abs(cents)) <= q["cents"] + 1e-9
    assert np.max(np.abs(b.gain_db[ib] - a.gain_db[ia])) <= q["gain_db"] + 1e-12


def test_midi_notes_on_the_grid_render_like_the_originals(rng):
    """Onsets, decays and gains on MIDI's grid: what is left is the pitch-bend step."""
    tick = midi.TEMPO_US / 1e6 / midi.PPQ
    n = 10
    atoms = plain_resonant(rng, n).with_columns(
        onset_s=np.round(rng.uniform(0, 1, n) / tick) * tick,
        t60_s=np.round(rng.uniform(0.2, 1.0, n) / tick) * tick,
        gain_db=np.round(rng.uniform(-30, -3, n) * 2) / 2, group=0,
        brightness=0.7, damping=0.5, inharmonicity=0.0, n_modes=16)  # what import assumes
    atom_set = AtomSet(sample_rate=16000, channels=1, resonant=atoms)
    back = midi.from_midi(midi.to_midi(atom_set), sample_rate=16000).replace(channels=1)
    x, y = render(atom_set, duration_s=2.0), render(back, duration_s=2.0)
    err = np.sqrt(np.mean((y - x) ** 2) / np.mean(x**2))
    assert err < 3e-3, err


def test_midi_keeps_fifteen_overlapping_notes_in_tune():
    f0 = 440.0 * 2 ** (np.arange(15) * 0.37 / 12)  # every one needs its own bend
    atom_set = AtomSet(resonant=ResonantAtoms(onset_s=0.1, f0_hz=f0, t60_s=2.0))
    back = midi.from_midi(midi.to_midi(atom_set)).resonant
    got = np.sort(back.f0_hz)
    assert np.max(np.abs(1200 * np.log2(got / f0))) <= midi.quantization()["cents"] + 1e-9


def test_midi_from_elsewhere_follows_tempo_and_bend_range():
    mido = pytest.importorskip("mido")
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr += [mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),  # 60 bpm
           mido.Message("control_change", channel=3, control=101, value=0),
           mido.Message("control_change", channel=3, control=100, value=0),
           mido.Message("control_change", channel=3, control=6, value=12),  # +-12 semitones
           mido.Message("pitchwheel", channel=3, pitch=4096, time=480),  # +6 semitones
           mido.Message("note_on", channel=3, note=60, velocity=127),
           mido.Message("note_off", channel=3, note=60, time=240)]
    mid.tracks.append(tr)
    import io

    buf = io.BytesIO()
    mid.save(file=buf)
    back = midi.from_midi(buf.getvalue()).resonant
    assert len(back) == 1
    assert back.onset_s[0] == pytest.approx(1.0)
    assert back.t60_s[0] == pytest.approx(0.5)
    assert back.f0_hz[0] == pytest.approx(440 * 2 ** ((66 - 69) / 12))
    assert back.gain_db[0] == 0.0
    with pytest.raises(ParameterError, match="not a readable MIDI file"):
        midi.from_midi(b"MThd junk")


# ------------------------------------------------------------------------------ the commands
def test_export_and_import_commands(tmp_path, capsys):
    src = tmp_path / "in.atoms"
    for fmt in ("csv", "json", "sdif", "mid"):
        out = tmp_path / f"bells.{fmt}"
        extra = ["--tracks"] if fmt == "sdif" else []
        assert main(["export", "bells", "-o", str(out), *extra]) == 0
        assert main(["import", str(out), "-o", str(tmp_path / f"{fmt}.atoms")]) == 0
    _, bells = load_atoms("bells")
    for fmt in ("csv", "json", "sdif"):
        assert load(tmp_path / f"{fmt}.atoms") == bells
    assert len(load(tmp_path / "mid.atoms").resonant) == len(bells.resonant)
    assert main(["import", str(tmp_path / "bells.sdif"), "-o", str(src),
                 "--standard-only"]) == 0
    std = load(src)
    assert len(std.resonant) == len(bells.resonant) and std.mode_tables
    # --format overrides the suffix; an unknown suffix is one clear error
    assert main(["export", "bells", "-o", str(tmp_path / "x.txt"), "--format", "csv"]) == 0
    assert import_file(tmp_path / "x.txt", "csv") == bells
    capsys.readouterr()
    assert main(["export", "bells", "-o", str(tmp_path / "x.txt")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    # a missing input is a failure (exit 1), not a usage error (docs/hardening.md)
    assert main(["import", str(tmp_path / "missing.sdif"), "-o", str(src)]) == 1
    assert "missing.sdif" in capsys.readouterr().err
    assert format_of("a.MIDI") == "mid"
    export_file(bells, tmp_path / "y.json")
    assert import_file(tmp_path / "y.json") == bells
