"""The .atoms format: exact round trips, compact mode within its steps, atomic saves, and a
loader that turns every truncated, corrupted or hostile file into one clear AtomFileError."""

from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atomsynth.rt import AtomFileError, AtomSet, MdctAtoms, ResonantAtoms, atomfile
from atomsynth.rt.mdct_codec import merge_duplicates
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.params import RESONANT_PARAMS


def sample_set(rng: np.random.Generator, n: int = 50, m: int = 40) -> AtomSet:
    table = ModeTable("bar", [1.0, 2.756, 5.404], [1.0, 0.5, 0.25], [1.0, 0.6, 0.3],
                      source="Euler-Bernoulli free-free beam", family="bar")
    res = ResonantAtoms(
        onset_s=np.sort(rng.uniform(0, 4, n)), f0_hz=rng.uniform(40, 4000, n),
        t60_s=rng.uniform(0.05, 4, n), gain_db=rng.uniform(-60, 0, n), pan=rng.uniform(-1, 1, n),
        seed=rng.integers(0, 2**32, n), group=rng.integers(0, 3, n),
        preset=rng.integers(-1, 1, n), room=rng.integers(-1, 1, n), wet=rng.uniform(0, 1, n),
        noise_hz=rng.uniform(0, 8000, n), attack_s=rng.uniform(0.0005, 0.05, n),
    )
    mdct = MdctAtoms(scale=rng.choice([256, 2048], m), frame=rng.integers(0, 60, m),
                     bin=rng.integers(0, 128, m), channel=rng.integers(0, 2, m),
                     value=rng.normal(size=m) * 10 ** rng.uniform(-3, 0, m))
    return AtomSet(sample_rate=44100, channels=2, resonant=res, mdct=mdct, mode_tables=(table,),
                   group_names=("bells", "bass", "air"), room_names=("hall",),
                   provenance={"tool": "test", "source": "synthetic"})


@pytest.fixture
def atom_set(rng):
    return sample_set(rng)


def test_exact_round_trip(atom_set, tmp_path):
    path = tmp_path / "x.atoms"
    n = atomfile.save(atom_set, path)
    assert path.stat().st_size == n
    back = atomfile.load(path)
    assert back == atom_set
    for spec in RESONANT_PARAMS:
        assert back.resonant[spec.name].tobytes() == atom_set.resonant[spec.name].tobytes()


def test_compact_round_trip_within_steps(atom_set):
    data = atomfile.to_bytes(atom_set, compact=True)
    back = atomfile.from_bytes(data)
    assert len(data) < len(atomfile.to_bytes(atom_set))
    for spec in RESONANT_PARAMS:
        a, b = atom_set.resonant[spec.name], back.resonant[spec.name]
        if spec.is_integer or spec.step == 0:
            assert np.array_equal(a, b), spec.name
        elif spec.log_step:
            assert np.abs(np.log(b / a)).max() <= spec.step / 2 + 1e-12, spec.name
        else:
            assert np.abs(b - a).max() <= spec.step / 2 + 1e-12, spec.name
    # MDCT atoms are range-coded with 64 velocity levels over 96 dB (docs/atoms-format-compact.md);
    # atoms sharing a basis function and group are merged (the same signal).
    merged = merge_duplicates(atom_set.mdct)
    assert len(merged) == len(back.mdct) == len(atom_set.mdct) - 1  # the sample has one pair
    key = lambda m: np.lexsort((m.group, m.channel, m.bin, m.frame, m.scale))  # noqa: E731
    a, b = merged.value[key(merged)], back.mdct.value[key(back.mdct)]
    step_db = 96.0 / 63
    loud = np.abs(a) >= np.abs(a).max() * 10 ** (-96 / 20)
    assert np.abs(20 * np.log10(np.abs(b[loud] / a[loud]))).max() <= step_db / 2 + 1e-9
    assert np.array_equal(np.sign(a[loud]), np.sign(b[loud]))
    # compacting twice changes nothing more
    assert atomfile.from_bytes(atomfile.to_bytes(back, compact=True)) == back


def test_save_is_atomic(atom_set, tmp_path, monkeypatch):
    path = tmp_path / "keep.atoms"
    atomfile.save(atom_set, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomfile.save(atom_set.replace(duration_s=9.0), path)
    assert path.read_bytes() == before  # the old file survives
    assert [p.name for p in tmp_path.iterdir()] == ["keep.atoms"]  # no temp file left


def test_truncated_at_any_length(atom_set):
    data = atomfile.to_bytes(atom_set)
    for cut in list(range(0, 40)) + list(range(40, len(data), 97)) + [len(data) - 1]:
        with pytest.raises(AtomFileError):
            atomfile.from_bytes(data[:cut])


def test_corruption_is_detected(atom_set):
    data = bytearray(atomfile.to_bytes(atom_set))
    for pos in range(24, len(data), 53):
        bad = bytearray(data)
        bad[pos] ^= 0x41
        with pytest.raises(AtomFileError):
            atomfile.from_bytes(bytes(bad))


def rebuild(header: dict, blobs: bytes, *, major: int = 1) -> bytes:
    """A file with a hand-made header and correct checksums (to reach the semantic checks)."""
    text = json.dumps(header).encode()
    head = zlib.compress(text)
    return struct.pack("<8sHHIII", atomfile.MAGIC, major, 0, len(head), len(text),
                       zlib.crc32(text)) + head + blobs


def split(data: bytes) -> tuple[dict, bytes]:
    return atomfile.unpack_header(data)


def test_wrong_version_and_magic(atom_set):
    header, blobs = split(atomfile.to_bytes(atom_set))
    with pytest.raises(AtomFileError, match="format version 2.0 is not supported"):
        atomfile.from_bytes(rebuild(header, blobs, major=2))
    with pytest.raises(AtomFileError, match="not an atomsynth file"):
        atomfile.from_bytes(b"RIFF" + bytes(100))


def test_zip_bomb_and_absurd_counts_fail_fast():
    # one column that claims 1 KiB but inflates to 100 MB of zeros
    good = atomfile.to_bytes(AtomSet(resonant=ResonantAtoms(f0_hz=[100.0] * 128)))
    header, blobs = split(good)
    bomb = zlib.compress(bytes(100 << 20), 9)
    cols = header["families"]["resonant"]["columns"]
    sizes = [c["nbytes"] for c in cols]
    cols[0]["nbytes"] = len(bomb)
    with pytest.raises(AtomFileError, match="decompresses to"):
        atomfile.from_bytes(rebuild(header, bomb + blobs[sizes[0] :]))
    # a header that declares a billion atoms is refused before anything is inflated
    header, blobs = split(good)
    header["families"]["resonant"]["count"] = 10**9
    with pytest.raises(AtomFileError, match="atom count 1000000000 outside"):
        atomfile.from_bytes(rebuild(header, blobs))
    header["families"]["resonant"]["count"] = 9_000_000
    with pytest.raises(AtomFileError, match="declared data of .* bytes exceeds"):
        atomfile.from_bytes(rebuild(header, blobs))


def test_nan_and_out_of_range_values_are_rejected():
    atoms = ResonantAtoms(f0_hz=[100.0, 200.0])
    header, _ = split(atomfile.to_bytes(AtomSet(resonant=atoms)))
    blobs = b""
    for spec, meta in zip(RESONANT_PARAMS, header["families"]["resonant"]["columns"]):
        arr = atoms[spec.name].copy()
        if spec.name == "f0_hz":
            arr[1] = np.nan
        raw = arr.astype(np.dtype(spec.dtype).newbyteorder("<")).tobytes()
        packed = zlib.compress(raw)
        meta.update(nbytes=len(packed), crc32=zlib.crc32(raw))
        blobs += packed
    for meta in header["families"]["mdct"]["columns"]:
        packed = zlib.compress(b"")
        meta.update(nbytes=len(packed))
        blobs += packed
    with pytest.raises(AtomFileError, match="resonant atom 1: f0_hz = nan is not finite"):
        atomfile.from_bytes(rebuild(header, blobs))
    header["duration_s"] = float("nan")
    text_with_nan = json.dumps(header).encode()
    assert b"NaN" in text_with_nan
    with pytest.raises(AtomFileError, match="non-JSON constant NaN"):
        atomfile.from_bytes(rebuild(header, blobs))


def test_hostile_headers(atom_set):
    header, blobs = split(atomfile.to_bytes(atom_set))
    for bad in (
        {"format": "atomsynth", "mode": "pickle"},
        [1, 2, 3],
        {**header, "families": {"resonant": header["families"]["resonant"]}},
        {**header, "sample_rate": "44100"},
        {**header, "mode_tables": [{"name": "x", "ratios": [1, 0.5], "gains": [1, 1],
                                    "decays": [1, 1]}]},
        {**header, "group_names": "not a list"},
    ):
        with pytest.raises(AtomFileError):
            atomfile.from_bytes(rebuild(bad, blobs))
    text = b'{"format": "atomsynth", "provenance": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    head = zlib.compress(text)
    deep = struct.pack("<8sHHIII", atomfile.MAGIC, 1, 0, len(head), len(text),
                       zlib.crc32(text)) + head
    with pytest.raises(AtomFileError, match="corrupt file .RecursionError"):
        atomfile.from_bytes(deep)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(AtomFileError, match="cannot read"):
        atomfile.load(tmp_path / "nope.atoms")


SMALL = atomfile.to_bytes(sample_set(np.random.default_rng(3), n=6, m=5))
SMALL_COMPACT = atomfile.to_bytes(sample_set(np.random.default_rng(3), n=6, m=5), compact=True)


def _load_or_clear_error(data: bytes) -> None:
    try:
        result = atomfile.from_bytes(data)
    except AtomFileError as exc:
        assert str(exc)
    else:
        assert isinstance(result, AtomSet)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([SMALL, SMALL_COMPACT]),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       cut=st.integers(0, 10_000))
def test_fuzz_mutated_bytes(base, edits, cut):
    data = bytearray(base)
    for pos, val in edits:
        data[pos % len(data)] = val
    _load_or_clear_error(bytes(data[: max(cut, len(data) // 2)]))


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64),
                      st.floats(allow_nan=False), st.text(max_size=5),
                      st.lists(st.integers(-5, 5), max_size=3))


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([SMALL, SMALL_COMPACT]), path_seed=st.integers(0, 10**6),
       leaf=json_leaf)
def test_fuzz_header_values_with_valid_checksums(base, path_seed, leaf):
    """Replace one value anywhere in the header and fix the checksum: still no crash."""
    header, blobs = split(base)
    nodes = []

    def walk(node):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            nodes.append((node, k))
            if isinstance(v, (dict, list)):
                walk(v)

    walk(header)
    parent, key = nodes[path_seed % len(nodes)]
    parent[key] = leaf
    _load_or_clear_error(rebuild(header, blobs))


def test_compact_keeps_atoms_of_different_groups_at_one_position():
    mdct = MdctAtoms(scale=[512] * 4, frame=[3, 3, 3, 4], bin=[7, 7, 7, 7],
                     group=[0, 0, 1, 1], value=[0.5, 0.25, -1.0, 0.125])
    s = AtomSet(sample_rate=16000, channels=1, mdct=mdct)
    back = atomfile.from_bytes(atomfile.to_bytes(s, compact=True))
    got = sorted(zip(back.mdct.group.tolist(), back.mdct.frame.tolist(),
                     back.mdct.value.tolist()))
    assert [g[:2] for g in got] == [(0, 3), (1, 3), (1, 4)]
    np.testing.assert_allclose([g[2] for g in got], [0.75, -1.0, 0.125], rtol=0.1)


def test_compact_values_at_range_edges_stay_loadable():
    """Quantizing must never step outside a parameter's range (burst_shape 0.5 once became
    0.4966 and the file no longer loaded)."""
    edges = {s.name: [s.lo, s.hi] for s in RESONANT_PARAMS if not s.is_integer and s.step}
    atoms = ResonantAtoms(2, **edges)
    back = atomfile.from_bytes(atomfile.to_bytes(AtomSet(resonant=atoms), compact=True))
    for spec in RESONANT_PARAMS:
        assert np.all(back.resonant[spec.name] >= spec.lo), spec.name
        assert np.all(back.resonant[spec.name] <= spec.hi), spec.name
