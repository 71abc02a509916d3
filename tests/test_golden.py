"""Golden files: what users depend on does not change.

* Every ``.atoms`` format version the reader claims to read (1.0 and 1.1, exact and compact) is a
  committed file, written by that version's writer (``tests/data/golden/make_golden.py``); each
  loads, holds what was written (exactly, or within its compact quantization step), and renders
  to its stored fixture.
* Every bundled example renders to its stored fixture (block RMS and snippets of the NumPy
  float64 reference render), through the reference renderer and through the streaming
  synthesizer that ``atomsynth play`` and ``atomsynth render`` use.

If one of these fails after a change that was meant to change the sound or the format, run the
generator (see its docstring) and say so in the commit; otherwise the change broke users' files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atomsynth.rt.atomfile import MAGIC, load
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
EXAMPLES = Path(__file__).resolve().parents[1] / "presets" / "examples"
BLOCK = 4096  # as make_golden.py
FORMAT_FILES = {  # name: (major, minor, mode)
    "format-1.0-exact": (1, 0, "exact"),
    "format-1.0-compact": (1, 0, "compact"),
    "format-1.1-exact": (1, 1, "exact"),
    "format-1.1-compact": (1, 1, "compact"),
}
EXAMPLE_NAMES = ("bells", "bowed_texture", "drum_pattern", "marimba_phrase")
REFERENCE_SECONDS = 3.0  # the reference render of the examples is checked on its first 3 s


def _header_mode(data: bytes) -> str:
    import json
    import zlib

    hclen = int.from_bytes(data[12:16], "little")
    return json.loads(zlib.decompress(data[24:24 + hclen]))["mode"]


@pytest.mark.parametrize("name", sorted(FORMAT_FILES))
def test_golden_file_is_the_version_it_claims(name):
    data = (GOLDEN / f"{name}.atoms").read_bytes()
    major, minor, mode = FORMAT_FILES[name]
    assert data[:8] == MAGIC
    assert (int.from_bytes(data[8:10], "little"), int.from_bytes(data[10:12], "little")) == (
        major, minor)
    assert _header_mode(data) == mode


@pytest.mark.parametrize("name", sorted(FORMAT_FILES))
def test_golden_file_renders_to_its_fixture(name):
    atom_set = load(GOLDEN / f"{name}.atoms")
    expected = np.load(GOLDEN / f"{name}.render.npy", allow_pickle=False)
    audio = render(atom_set)
    assert audio.shape == expected.shape == (2, 4000)
    peak = float(np.abs(expected).max())
    assert peak > 0.5
    # The fixture is float32 (rounding <= 6e-8 of the peak); the render is float64.
    np.testing.assert_allclose(audio, expected, rtol=0, atol=1e-6 * peak)


def test_exact_files_of_both_versions_hold_the_same_set():
    a = load(GOLDEN / "format-1.0-exact.atoms")
    b = load(GOLDEN / "format-1.1-exact.atoms")
    assert (a.sample_rate, a.channels, a.duration_s) == (16000, 2, 0.25)
    assert (len(a.resonant), len(a.mdct)) == (6, 10)
    assert a.group_names == b.group_names == ("struck", "texture")
    assert a.room_names == b.room_names == ("hall",)
    assert a.mode_tables == b.mode_tables and a.mode_tables[0].name == "golden_bar"
    for spec in RESONANT_PARAMS:
        np.testing.assert_array_equal(a.resonant[spec.name], b.resonant[spec.name])
    for spec in MDCT_PARAMS:
        np.testing.assert_array_equal(a.mdct[spec.name], b.mdct[spec.name])
    # spot values written by make_golden.py, bit for bit
    assert a.resonant.f0_hz[1] == 447.3 and a.resonant.seed[4] == 4_000_000_000
    assert a.mdct.value[0] == 0.8 and a.mdct.value[9] == 0.01


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_compact_files_hold_the_set_within_their_steps(version):
    exact = load(GOLDEN / f"format-{version}-exact.atoms")
    compact = load(GOLDEN / f"format-{version}-compact.atoms")
    assert compact.group_names == exact.group_names
    assert compact.room_names == exact.room_names
    np.testing.assert_allclose(compact.mode_tables[0].ratios, exact.mode_tables[0].ratios,
                               rtol=0, atol=1e-12)
    for spec in RESONANT_PARAMS:
        x, y = exact.resonant[spec.name], compact.resonant[spec.name]
        if spec.step == 0.0:
            np.testing.assert_array_equal(y, x, err_msg=spec.name)
        elif spec.log_step:
            assert np.abs(np.log(y / x)).max() <= spec.step / 2 * (1 + 1e-9), spec.name
        else:
            assert np.abs(y - x).max() <= spec.step / 2 * (1 + 1e-9), spec.name
    for name in ("scale", "frame", "bin", "channel", "group"):
        np.testing.assert_array_equal(np.sort(compact.mdct[name]), np.sort(exact.mdct[name]))
    order_x = np.lexsort((exact.mdct.bin, exact.mdct.frame, exact.mdct.scale))
    order_y = np.lexsort((compact.mdct.bin, compact.mdct.frame, compact.mdct.scale))
    x, y = exact.mdct.value[order_x], compact.mdct.value[order_y]
    np.testing.assert_array_equal(np.sign(y), np.sign(x))
    if version == "1.0":  # 1.0: signed log magnitude in steps of 0.02 (natural log)
        assert np.abs(np.log(y / x)).max() <= 0.01 * (1 + 1e-9)
    else:  # 1.1: 64 velocity levels over 96 dB under the loudest atom (1.5 dB steps)
        level_db = 96.0 / 63
        loud = np.abs(x) >= np.abs(x).max() * 10 ** (-96.0 / 20)
        err_db = np.abs(20 * np.log10(np.abs(y[loud]) / np.abs(x[loud])))
        assert err_db.max() <= level_db / 2 + 1e-9


def _fixture(name: str) -> dict[str, np.ndarray]:
    with np.load(GOLDEN / f"example-{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _block_rms(audio: np.ndarray, blocks: int) -> np.ndarray:
    padded = np.zeros((audio.shape[0], blocks * BLOCK))
    n = min(audio.shape[1], blocks * BLOCK)
    padded[:, :n] = audio[:, :n]
    return np.sqrt(np.mean(padded.reshape(audio.shape[0], blocks, BLOCK) ** 2, axis=2))


def _check_against_fixture(audio: np.ndarray, fix: dict[str, np.ndarray], *, tol: float,
                           limit: int) -> None:
    """``audio`` (possibly the first ``limit`` samples only) against an example's fixture."""
    peak = float(fix["peak"])
    blocks = limit // BLOCK
    rms = _block_rms(audio, blocks)
    # |rms(a) - rms(b)| <= max |a - b|, so the sample tolerance bounds the RMS difference too.
    np.testing.assert_allclose(rms, fix["block_rms"][:, :blocks], rtol=0, atol=tol * peak)
    checked = 0
    for k, offset in enumerate(fix["offsets"]):
        n = fix["samples"].shape[2]
        if offset + n <= limit:
            np.testing.assert_allclose(audio[:, offset:offset + n], fix["samples"][k], rtol=0,
                                       atol=tol * peak, err_msg=f"snippet at sample {offset}")
            checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_streaming_render_is_pinned(name):
    """What ``play`` and ``render`` make of the example (dry bus, default float32 ring-out)
    equals the reference fixture within the synthesizer's documented 1e-5 of the peak."""
    atom_set = load(EXAMPLES / f"{name}.atoms")
    fix = _fixture(name)
    audio = StreamingSynth(atom_set).render_all()[0]
    assert -(-audio.shape[1] // BLOCK) == fix["block_rms"].shape[1]
    _check_against_fixture(audio, fix, tol=1e-5, limit=audio.shape[1])


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_reference_render_is_pinned(name):
    """The float64 reference renderer reproduces its own fixture (first 3 s) to 1e-9."""
    atom_set = load(EXAMPLES / f"{name}.atoms")
    fix = _fixture(name)
    audio = render(atom_set, duration_s=REFERENCE_SECONDS)
    limit = int(REFERENCE_SECONDS * atom_set.sample_rate)
    assert audio.shape[1] >= limit
    _check_against_fixture(audio, fix, tol=1e-9, limit=limit)
