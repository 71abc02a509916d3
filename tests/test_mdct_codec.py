"""The compact MDCT bitstream: exact decode to the quantized atoms, hostile input."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest

from atomsynth.rt import AtomSet, MdctAtoms
from atomsynth.rt.atomfile import _PREFIX, from_bytes, pack_header, to_bytes, unpack_header
from atomsynth.rt.errors import AtomFileError
from atomsynth.rt.features import dequantize_mdct, quantize_mdct
from atomsynth.rt.mdct_codec import decode_mdct, encode_mdct
from atomsynth.rt.params import MDCT_SCALES


def random_atoms(rng, n=3000, channels=3, n_levels=64, range_db=80.0):
    scale = rng.choice(MDCT_SCALES, n)
    raw = MdctAtoms(n, scale=scale, frame=rng.integers(0, 40, n),
                    bin=(rng.random(n) * (scale // 2)).astype(int),
                    channel=rng.integers(0, channels, n),
                    value=rng.standard_normal(n) * 10 ** rng.uniform(-3, 0, n),
                    group=rng.integers(0, 4, n))
    # unique positions, then snap the values onto the velocity grid
    key = np.stack([raw.scale, raw.channel, raw.frame, raw.bin], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    raw = raw.select(np.sort(first))
    return dequantize_mdct(quantize_mdct(raw, n_levels=n_levels, range_db=range_db))


@pytest.mark.parametrize("n_levels", [2, 64, 65536])
def test_codec_decodes_exactly(rng, n_levels):
    atoms = random_atoms(rng, n_levels=n_levels)
    feats = quantize_mdct(atoms, n_levels=n_levels, range_db=80.0)
    meta, payload, group = encode_mdct(atoms, n_levels=n_levels, range_db=80.0, ref=feats.ref)
    back = decode_mdct(meta, payload, count=meta["count"], group=group)
    # canonical order (these atoms follow no named order): compare as sets
    key = lambda a: np.lexsort((a.bin, a.frame, a.channel, a.scale))  # noqa: E731
    assert atoms.select(key(atoms)) == back.select(key(back))


def test_compact_file_round_trip_and_size(rng):
    atoms = random_atoms(rng, range_db=96.0)  # the compact mode's default grid
    s = AtomSet(sample_rate=44100, channels=3, mdct=atoms.select(
        np.argsort(-np.abs(atoms.value), kind="stable")), duration_s=4.0)  # all start in it
    data = to_bytes(s, compact=True)
    back = from_bytes(data)
    key = lambda a: np.lexsort((a.bin, a.frame, a.channel, a.scale))  # noqa: E731
    assert back.mdct.select(key(back.mdct)) == s.mdct.select(key(s.mdct))
    # at most ~ the entropy of the positions and 6-bit velocities plus a sign, per atom
    assert len(data) * 8 / len(atoms) < 24


def _tamper(data: bytes, edit) -> bytes:
    _, major, minor, _, _, _ = _PREFIX.unpack_from(data)
    head, rest = unpack_header(data)
    edit(head)
    return pack_header(head, (major, minor)) + rest


def test_hostile_bitstreams(rng):
    atoms = random_atoms(rng, n=500, channels=1)
    s = AtomSet(sample_rate=44100, channels=1, mdct=atoms, duration_s=2.0)
    data = to_bytes(s, compact=True)
    with pytest.raises(AtomFileError, match="truncated"):
        from_bytes(data[:-10])
    flipped = bytearray(data)
    flipped[-20] ^= 0x55
    with pytest.raises(AtomFileError):
        from_bytes(bytes(flipped))

    def huge_frames(h):
        h["mdct_coding"]["streams"][0][4] = 2**31 - 1

    def wrong_count(h):
        h["mdct_coding"]["streams"][0][2] += 1

    def bad_bin(h):
        h["mdct_coding"]["streams"][0][5] = 99999

    for edit in (huge_frames, wrong_count, bad_bin):
        t0 = time.perf_counter()
        with pytest.raises(AtomFileError):
            from_bytes(_tamper(data, edit))
        assert time.perf_counter() - t0 < 5.0  # bounded: no runaway decode loop


def test_payload_overrun_is_corruption():
    # a payload that claims atoms it does not contain
    meta = {"coding": "mdct-range-v1", "count": 3, "n_levels": 64, "range_db": 96.0,
            "ref": 1.0, "order": "canonical", "streams": [[0, 0, 3, 0, 10**6, 63]],
            "nbytes": 1, "crc32": zlib.crc32(b"\x00")}
    with pytest.raises(AtomFileError):
        decode_mdct(meta, b"\x00", count=3)
    assert struct.calcsize("<I") == 4
