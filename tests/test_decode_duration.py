"""Issue 16, decoding work bounded by the declared duration: the compact writer keeps the MDCT
atoms that start inside ``duration_s``, and the reader refuses, before decoding, a stream
whose frames reach past what the header's duration allows."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from atomsynth.rt import AtomSet
from atomsynth.rt.atomfile import EXACT_VERSION, MAGIC, from_bytes, to_bytes, unpack_header
from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.errors import AtomFileError
from atomsynth.rt.mdct_codec import decode_mdct, encode_mdct, last_frame

SR = 48000


def _set(frames, scale=2048, duration_s=1.0):
    n = len(frames)
    return AtomSet(sample_rate=SR, channels=1, duration_s=duration_s, mdct=MdctAtoms(
        n, scale=[scale] * n, frame=frames, bin=list(range(1, n + 1)), channel=[0] * n,
        value=[0.5] * n, group=[0] * n))


def test_last_frame_is_the_last_atom_starting_inside_the_duration():
    # hop 1024: frame f starts at sample (f - 1) * 1024; 48,000 samples hold f <= 47
    assert last_frame(2048, SR, 1.0) == 47
    assert (47 - 1) * 1024 < SR <= (48 - 1) * 1024
    assert last_frame(2048, SR, 0.0) == 0


def test_the_compact_writer_drops_nothing_and_declares_a_duration_that_covers_every_atom():
    s = _set([0, 10, 47, 48, 500])
    back = from_bytes(to_bytes(s, compact=True))
    assert sorted(back.mdct.frame.tolist()) == [0, 10, 47, 48, 500]
    # frame 500 at scale 2048 starts at sample 499 * 1024: the declared duration covers it
    assert back.duration_s >= 499 * 1024 / SR
    # a set whose atoms all start inside its duration keeps that duration
    inside = _set([0, 10, 47])
    assert from_bytes(to_bytes(inside, compact=True)).duration_s == inside.duration_s
    back = from_bytes(to_bytes(s.replace(duration_s=None), compact=True))
    assert sorted(back.mdct.frame.tolist()) == [0, 10, 47, 48, 500]


def _file(header: dict, payload: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    head = zlib.compress(text)
    return struct.pack("<8sHHIII", MAGIC, *EXACT_VERSION, len(head), len(text),
                       zlib.crc32(text)) + head + payload


@pytest.mark.parametrize("frame,ok", [(48, True), (49, False), (2**20, False)])
def test_the_reader_refuses_streams_past_the_declared_duration(frame, ok):
    """A hostile tool writes two atoms at frames 0 and ``frame`` into a 1-second file (the
    reader allows one frame of slack past :func:`last_frame`)."""
    atoms = MdctAtoms(2, scale=[2048, 2048], frame=[0, frame], bin=[0, 0], channel=[0, 0],
                      value=[1.0, 1.0], group=[0, 0])
    meta, payload, _ = encode_mdct(atoms)
    h, _ = unpack_header(to_bytes(AtomSet(sample_rate=SR, channels=1, duration_s=1.0),
                                  compact=True))
    h.update(families={"resonant": {"count": 0}, "mdct": {"count": 2}}, mdct_coding=meta)
    data = _file(h, payload)
    if ok:
        assert sorted(from_bytes(data).mdct.frame.tolist()) == [0, frame]
    else:
        with pytest.raises(AtomFileError, match=r"past the declared duration of 1 s "
                                                 r"\(at most frame 48\)"):
            from_bytes(data)


def test_a_duration_out_of_range_is_refused_before_decoding():
    atoms = MdctAtoms(1, scale=[2048], frame=[0], bin=[0], channel=[0], value=[1.0], group=[0])
    meta, payload, _ = encode_mdct(atoms)
    h, _ = unpack_header(to_bytes(AtomSet(sample_rate=SR, channels=1), compact=True))
    h.update(families={"resonant": {"count": 0}, "mdct": {"count": 1}}, mdct_coding=meta,
             duration_s=-1.0)
    with pytest.raises(AtomFileError, match=r"duration_s = -1.0 is out of range"):
        from_bytes(_file(h, payload))


def test_decode_of_a_hostile_stream_stops_at_the_duration(rng):
    """Random payload, a stream declared across the whole allowed span of a 10-second file at
    the finest scale: refused when it declares one frame more, decoded or refused (never
    hung) when inside. The work figure is benchmarks/hostile_decode.py."""
    payload = rng.bytes(4096)
    end = last_frame(128, SR, 10.0) + 1
    meta = {"coding": "mdct-range-v1", "n_levels": 64, "range_db": 96.0, "ref": 1.0,
            "order": "canonical", "crc32": zlib.crc32(payload), "count": 100,
            "streams": [[0, 0, 100, 0, end + 1, 63]]}
    with pytest.raises(AtomFileError, match="past the declared duration"):
        decode_mdct(meta, payload, count=100, sample_rate=SR, duration_s=10.0)
    meta["streams"] = [[0, 0, 100, 0, end, 63]]
    try:
        atoms = decode_mdct(meta, payload, count=100, sample_rate=SR, duration_s=10.0)
    except AtomFileError:
        return
    assert np.all(atoms.frame <= end)
