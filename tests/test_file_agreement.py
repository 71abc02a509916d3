"""Issue 16, reader and writer agree: every set the writer accepts loads back (exact: equal;
compact: loads, prints and saves again), and what the loader accepts every command can print
and save. Hostile headers fail at the loader with one clear error, in bounded work."""

from __future__ import annotations

import json
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from atomsynth.commands.info import describe
from atomsynth.rt import AtomSet
from atomsynth.rt.atomfile import EXACT_VERSION, MAGIC, from_bytes, to_bytes, unpack_header
from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.errors import AtomFileError, ParameterError
from tests.strategies import atom_sets


def _usable(s: AtomSet) -> None:
    """What every command does with a loaded set: describe it (info), print it as JSON and
    save it in both modes."""
    json.dumps(describe(s), allow_nan=True, ensure_ascii=False).encode("utf-8")
    for compact in (False, True):
        from_bytes(to_bytes(s, compact=compact))


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(atom_sets())
def test_every_set_the_writer_accepts_loads_back(s):
    exact = from_bytes(to_bytes(s))
    assert exact == s
    compact = from_bytes(to_bytes(s, compact=True))
    assert len(compact.resonant) == len(s.resonant)
    assert len(compact.mdct) <= len(s.mdct)
    assert compact.sample_rate == s.sample_rate and compact.channels == s.channels
    _usable(compact)


def _mdct_set(value, **kw):
    return AtomSet(sample_rate=48000, channels=1, mdct=MdctAtoms(
        1, scale=[2048], frame=[3], bin=[5], channel=[0], value=[value], group=[0]), **kw)


def test_compact_save_of_a_silent_mdct_atom_loads():
    back = from_bytes(to_bytes(_mdct_set(0.0), compact=True))
    assert len(back.mdct) == 0


@pytest.mark.parametrize("ref", [1e7, 1e300, 0.1])
def test_compact_save_with_a_reference_the_reader_refuses_loads(ref):
    s = _mdct_set(0.5, provenance={"mdct_quantization": {"n_levels": 64, "range_db": 96.0,
                                                         "ref": ref}})
    back = from_bytes(to_bytes(s, compact=True))
    assert back.mdct.value[0] == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("field,value,words", [
    ("provenance", {"x": float("inf")}, "provenance"),
    ("group_names", ("a\ud800",), "surrogate"),
    ("room_names", ("\udfff",), "surrogate"),
])
def test_the_containers_refuse_what_no_file_could_hold(field, value, words):
    with pytest.raises(ParameterError, match=words):
        AtomSet(**{field: value})


def _file(header: dict, blobs: bytes = b"") -> bytes:
    """A format-1.1 file (plain zlib header: readers read every 1.x) with any header, even
    one no writer would write (non-finite numbers)."""
    text = json.dumps(header, separators=(",", ":")).encode()
    head = zlib.compress(text)
    return struct.pack("<8sHHIII", MAGIC, *EXACT_VERSION, len(head), len(text),
                       zlib.crc32(text)) + head + blobs


def _header(**changes):
    base, _ = unpack_header(to_bytes(AtomSet(), compact=True))
    base.update(changes)
    return base


@pytest.mark.parametrize("text,words", [
    ('{"p": 1e400}', "provenance"),
    ('{"p": "\\ud800"}', "lone surrogate"),
])
def test_loaded_provenance_that_no_save_could_write_is_refused(text, words):
    h = _header()
    raw = json.dumps(h, separators=(",", ":")).replace('"provenance":{}',
                                                       f'"provenance":{text}')
    data = _file(json.loads(raw, parse_constant=float))
    raw_b = raw.encode()
    head = zlib.compress(raw_b)
    data = struct.pack("<8sHHIII", MAGIC, *EXACT_VERSION, len(head), len(raw_b),
                       zlib.crc32(raw_b)) + head
    with pytest.raises(AtomFileError, match=words):
        from_bytes(data)


def test_a_lone_surrogate_group_name_is_refused():
    raw = json.dumps(_header(group_names=["x"]), separators=(",", ":")).replace(
        '"x"', '"\\udc80"').encode()
    head = zlib.compress(raw)
    data = struct.pack("<8sHHIII", MAGIC, *EXACT_VERSION, len(head), len(raw),
                       zlib.crc32(raw)) + head
    with pytest.raises(AtomFileError, match="surrogate"):
        from_bytes(data)


def _two_far_atoms(frame: int) -> bytes:
    """The 707-byte case: a compact file whose two MDCT atoms sit at frames 0 and ``frame``,
    written by bypassing the container's time limit (as a hostile tool would)."""
    from atomsynth.rt.mdct_codec import encode_mdct

    atoms = MdctAtoms(2, scale=[128, 8192], frame=[0, frame], bin=[0, 0], channel=[0, 0],
                      value=[1.0, 1.0], group=[0, 0])
    meta, payload, _ = encode_mdct(atoms)
    h = _header(families={"resonant": {"count": 0}, "mdct": {"count": 2}}, mdct_coding=meta)
    return _file(h, payload)


def test_absurd_frame_indices_are_refused_up_front():
    data = _two_far_atoms(2**31 - 1)
    t0 = time.perf_counter()
    with pytest.raises(AtomFileError, match="last frame|first frame"):
        from_bytes(data)
    assert time.perf_counter() - t0 < 5.0  # was 48.6 s; the check itself is microseconds


def test_the_container_refuses_an_mdct_atom_after_a_day():
    with pytest.raises(ParameterError, match="86400"):
        AtomSet(sample_rate=48000, channels=1, mdct=MdctAtoms(
            1, scale=[8192], frame=[2**31 - 1], bin=[0], channel=[0], value=[1.0], group=[0]))


def test_more_atoms_than_the_payload_can_code_are_refused_up_front():
    from atomsynth.rt.mdct_codec import decode_mdct, encode_mdct

    atoms = MdctAtoms(1, scale=[2048], frame=[0], bin=[0], channel=[0], value=[1.0], group=[0])
    meta, payload, _ = encode_mdct(atoms)
    meta = dict(meta, count=10_000_000, streams=[[4, 0, 10_000_000, 0, 10, 1023]])
    with pytest.raises(AtomFileError, match="cannot fit"):
        decode_mdct(meta, payload, count=10_000_000)


def test_zlib_expansion_beyond_deflates_limit_is_refused_up_front():
    n = 1_000_000
    h = _header(mode="exact")
    h.pop("data", None)
    cols = []
    from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS

    blob = zlib.compress(b"\0" * 8)  # a few bytes claiming megabytes
    for spec in RESONANT_PARAMS:
        size = n * np.dtype(spec.dtype).itemsize
        cols.append({"name": spec.name, "dtype": np.dtype(spec.dtype).newbyteorder("<").str,
                     "encoding": "zlib", "nbytes": len(blob), "size": size, "crc32": 0})
    h["families"] = {"resonant": {"count": n, "columns": cols},
                     "mdct": {"count": 0, "columns": [
                         {"name": s.name, "dtype": np.dtype(s.dtype).newbyteorder("<").str,
                          "encoding": "zlib", "nbytes": len(zlib.compress(b"")), "size": 0,
                          "crc32": 0} for s in MDCT_PARAMS]}}
    with pytest.raises(AtomFileError, match="cannot inflate"):
        from_bytes(_file(h, blob * len(cols)))


def test_hostile_compact_stream_work_is_bounded(rng):
    """A payload of random bytes with a stream spanning a day of the finest scale: the
    decoder stops at the first read past the payload (about 755 decisions per byte)."""
    from atomsynth.rt.mdct_codec import decode_mdct, encode_mdct

    atoms = MdctAtoms(1, scale=[128], frame=[0], bin=[0], channel=[0], value=[1.0], group=[0])
    meta, _, _ = encode_mdct(atoms)
    payload = rng.bytes(16384)
    last = int(86400 * 48000) // 64 + 1
    meta = dict(meta, count=1000, streams=[[0, 0, 1000, 0, last, 63]],
                crc32=zlib.crc32(payload))
    t0 = time.perf_counter()
    with pytest.raises(AtomFileError):
        decode_mdct(meta, payload, count=1000, sample_rate=48000)
    assert time.perf_counter() - t0 < 10.0
