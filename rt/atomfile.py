"""The ``.atoms`` file: self-describing, versioned, columnar; no pickle, no code execution.

Layout (all integers little-endian; the full specification is ``docs/atoms-format.md``)::

    offset  size  field
    0       8     magic b"ATOMSYN\\x1a"
    8       2     major version (1)      10  2  minor version (0, 1 or 2)
    12      4     header size, compressed (zlib; raw deflate with a preset dictionary
                  since 1.2, see :data:`HEADER_DICTIONARY`)
    16      4     header size, uncompressed (UTF-8 JSON)
    20      4     CRC-32 of the uncompressed header
    24      ...   header, then the data section the header describes

Two modes. *exact*: every column is its raw little-endian array, zlib-compressed, with a CRC-32:
a load gives back exactly what was saved. *compact*: float columns are quantized to the steps
in :mod:`atomsynth.rt.params` (linear, logarithmic or signed-logarithmic), integer columns are
delta-coded where that helps, all are packed at their minimal width and compressed together
with LZMA2; file size over duration is the bitrate. Since version 1.1 the MDCT atoms of a
compact file are instead quantized to their discrete features and range-coded with adaptive
contexts (:mod:`atomsynth.rt.mdct_codec`, ``docs/atoms-format-compact.md``); version 1.0
compact files still load. Since version 1.2 compact files compress their header with a fixed
preset dictionary (:data:`HEADER_DICTIONARY`): the container of a short MDCT-only file costs
about 110 bytes instead of about 290, so a 0.14 s clip at 12 kb/s still has room for atoms.
Exact files are still written as 1.1; every 1.x file loads.

Loading checks sizes before allocating and decompresses with a bound, so truncated,
corrupted, oversized and hostile files (zip bombs, absurd counts, NaN) raise
:class:`~atomsynth.rt.errors.AtomFileError` without hanging or exhausting memory.
"""

from __future__ import annotations

import json
import lzma
import math
import os
import stat
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from atomsynth.rt.atomic import write_bytes_atomic
from atomsynth.rt.atoms import MAX_TIME_S, AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import AtomFileError, AtomsynthError
from atomsynth.rt.mdct_codec import MAX_REF, decode_mdct, encode_mdct, last_frame, lr_to_ms
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS, ParamSpec

MAGIC = b"ATOMSYN\x1a"
VERSION = (1, 2)
EXACT_VERSION = (1, 1)
HEADER_DICTIONARY = (
    b'{"format":"atomsynth","mode":"compact","sample_rate":48000,"channels":2,'
    b'"duration_s":1.0,"provenance":{"tool":"atomsynth encode"},'
    b'"families":{"resonant":{"count":0},"mdct":{"count":100}},'
    b'"mdct_coding":{"coding":"mdct-range-v1","count":100,"n_levels":64,"range_db":96.0,'
    b'"ref":1.0,"order":"canonical","streams":[[4,0,100,0,10,1023]],"nbytes":100,'
    b'"crc32":1},"data":{"encoding":"lzma2-raw","nbytes":0,"size":0,"crc32":0}}'
)
"""Preset dictionary of the compact header's raw deflate stream (version 1.2 and later).
Part of the format: it never changes within major version 1."""
_PREFIX = struct.Struct("<8sHHIII")
MAX_HEADER_BYTES = 16 << 20
DEFAULT_MAX_ATOMS = 10_000_000
DEFAULT_MAX_BYTES = 1 << 30
_FAMILIES = {"resonant": (ResonantAtoms, RESONANT_PARAMS), "mdct": (MdctAtoms, MDCT_PARAMS)}
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
_INT_WIDTHS = ("<i1", "<i2", "<i4", "<i8")
_ZLIB_MAX_RATIO = 1032  # deflate's largest expansion: 258 bytes per 2-bit code, about 1032:1


# --------------------------------------------------------------------------------- saving
def save(atom_set: AtomSet, path: str | os.PathLike, *, compact: bool = False) -> int:
    """Write ``atom_set`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    compact : bool
        Quantize and LZMA-compress (lossy, small) instead of the exact mode.

    Returns
    -------
    int
        Bytes written.
    """
    data = to_bytes(atom_set, compact=compact)
    write_bytes_atomic(path, data)
    return len(data)


def to_bytes(atom_set: AtomSet, *, compact: bool = False) -> bytes:
    """The file's bytes (see :func:`save`)."""
    if compact:
        atom_set = _prune_tables(atom_set)
    header: dict[str, Any] = {
        "format": "atomsynth",
        "mode": "compact" if compact else "exact",
        "sample_rate": atom_set.sample_rate,
        "channels": atom_set.channels,
        "duration_s": _duration_covering_mdct(atom_set) if compact else atom_set.duration_s,
        "provenance": dict(atom_set.provenance),
        "mode_tables": [_table_entry(t, compact) for t in atom_set.mode_tables],
        "group_names": list(atom_set.group_names),
        "room_names": list(atom_set.room_names),
        "families": {},
    }
    blobs: list[bytes] = []
    if compact:
        for key in ("mode_tables", "group_names", "room_names"):
            if not header[key]:
                del header[key]
        header["provenance"].pop("mdct_quantization", None)
        raw_parts: list[bytes] = []
        mdct_payload = b""
        for fam, (_, specs) in _FAMILIES.items():
            atoms = getattr(atom_set, fam)
            cols = []
            if not len(atoms):
                header["families"][fam] = {"count": 0}
                continue
            if fam == "mdct":
                meta, mdct_payload, group = encode_mdct(atoms, **_mdct_quantization(atom_set))
                if meta["count"] == 0:  # every atom was silent (0.0) or below the range
                    header["families"][fam] = {"count": 0}
                    mdct_payload = b""
                    continue
                header["mdct_coding"] = meta
                header["families"][fam] = {"count": meta["count"]}
                if group.any():
                    gmeta, payload = _quantize(specs[-1], group)
                    header["families"][fam]["group"] = gmeta
                    raw_parts.append(payload)
                continue
            for spec in specs:
                meta, payload = _quantize(spec, atoms[spec.name])
                cols.append(meta)
                raw_parts.append(payload)
            header["families"][fam] = {"count": len(atoms), "columns": cols}
        raw = b"".join(raw_parts)
        packed = lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS) if raw else b""
        header["data"] = {"encoding": "lzma2-raw", "nbytes": len(packed), "size": len(raw),
                          "crc32": zlib.crc32(raw)}
        blobs.append(packed)
        blobs.append(mdct_payload)
    else:
        for fam, (_, specs) in _FAMILIES.items():
            atoms = getattr(atom_set, fam)
            cols = []
            for spec in specs:
                dtype = np.dtype(spec.dtype).newbyteorder("<")
                arr = np.ascontiguousarray(atoms[spec.name], dtype=dtype)
                raw = arr.tobytes()
                packed = zlib.compress(raw, 6)
                cols.append({"name": spec.name, "dtype": arr.dtype.str, "encoding": "zlib",
                             "nbytes": len(packed), "size": len(raw), "crc32": zlib.crc32(raw)})
                blobs.append(packed)
            header["families"][fam] = {"count": len(atoms), "columns": cols}
    return pack_header(header, VERSION if compact else EXACT_VERSION) + b"".join(blobs)


def pack_header(header: Mapping[str, Any], version: tuple[int, int] = VERSION) -> bytes:
    """The file's prefix and compressed header for ``header`` (a JSON-able dict), written as
    format ``version``: minor 2 and later use the preset dictionary, earlier minors zlib."""
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if version[1] >= 2:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=HEADER_DICTIONARY)
        head = comp.compress(text) + comp.flush()
    else:
        head = zlib.compress(text, 9)
    return _PREFIX.pack(MAGIC, version[0], version[1], len(head), len(text),
                        zlib.crc32(text)) + head


def unpack_header(data: bytes) -> tuple[dict, bytes]:
    """Inverse of :func:`pack_header` for well-formed files: (header dict, the bytes after it).
    For tools and tests; :func:`from_bytes` is the validating reader."""
    _, _, minor, hclen, _, _ = _PREFIX.unpack_from(data)
    text = _header_decompressor(minor).decompress(bytes(data[_PREFIX.size:_PREFIX.size + hclen]))
    return json.loads(text), bytes(data[_PREFIX.size + hclen:])


def _header_decompressor(minor: int) -> Any:
    if minor >= 2:
        return zlib.decompressobj(-15, zdict=HEADER_DICTIONARY)
    return zlib.decompressobj()


def _mdct_quantization(atom_set: AtomSet) -> dict[str, Any]:
    """Velocity quantization for the compact MDCT bitstream: the set's own (as recorded by the
    atomizer or the encoder in ``provenance["mdct_quantization"]``) when valid, else 64 levels
    over 96 dB under the loudest atom; ``stereo`` ``"ms"`` when recorded and the set has two
    channels (format 1.2)."""
    q = atom_set.provenance.get("mdct_quantization")
    out: dict[str, Any] = {"n_levels": 64, "range_db": 96.0, "ref": None, "stereo": "lr"}
    atoms = atom_set.mdct
    if isinstance(q, dict) and q.get("stereo") == "ms" and atom_set.channels == 2:
        out["stereo"] = "ms"
        atoms = lr_to_ms(atoms)
    top = float(np.abs(atoms.value).max()) if len(atoms) else 0.0
    if isinstance(q, dict):
        n, r, ref = q.get("n_levels"), q.get("range_db"), q.get("ref")
        if isinstance(n, int) and 2 <= n <= 65536 and isinstance(r, (int, float)) and (
                1.0 <= r <= 400.0):
            out.update(n_levels=n, range_db=float(r))
            if (isinstance(ref, (int, float)) and math.isfinite(ref)
                    and MAX_REF >= ref >= top * (1 - 1e-9) > 0):
                out["ref"] = float(ref)
    return out


def _duration_covering_mdct(atom_set: AtomSet) -> float | None:
    """``duration_s``, extended where MDCT atoms start after it, so that every atom starts
    inside the duration a compact file declares (its reader bounds decoding by that duration,
    :func:`~atomsynth.rt.mdct_codec.last_frame`); no atom is dropped."""
    duration = atom_set.duration_s
    atoms = atom_set.mdct
    if duration is None or not len(atoms):
        return duration
    duration = float(duration)
    for scale in np.unique(atoms.scale):
        last = int(atoms.frame[atoms.scale == scale].max())
        if last > last_frame(int(scale), atom_set.sample_rate, duration):
            # frame f starts at sample (f - 1) * hop: one sample more holds it (the reader
            # allows one frame of slack, so the cap at the longest duration loses nothing)
            start = (last - 1) * (int(scale) // 2)
            duration = max(duration, min((start + 1) / atom_set.sample_rate, MAX_TIME_S))
    return duration


def _table_entry(table: ModeTable, compact: bool) -> dict:
    """A mode table's header entry; compact files keep what the sound needs (name, family and
    the numbers) and leave out the description and source text."""
    entry = table.to_json_dict()
    if compact:
        entry.pop("description")
        entry.pop("source")
    return entry


def _prune_tables(atom_set: AtomSet) -> AtomSet:
    """Keep only the mode tables that atoms use, renumbering ``preset``."""
    used = np.unique(atom_set.resonant.preset[atom_set.resonant.preset >= 0])
    if used.size == len(atom_set.mode_tables):
        return atom_set
    remap = np.full(len(atom_set.mode_tables) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    preset = np.where(atom_set.resonant.preset >= 0, remap[atom_set.resonant.preset], -1)
    return atom_set.replace(
        resonant=atom_set.resonant.with_columns(preset=preset),
        mode_tables=tuple(atom_set.mode_tables[int(i)] for i in used),
    )


def _quantize(spec: ParamSpec, x: np.ndarray) -> tuple[dict, bytes]:
    """Quantize one column to integers; returns its header entry and packed bytes."""
    meta: dict[str, Any] = {"name": spec.name}
    # MDCT values are coded by mdct_codec, never here; the reader still reads the signed-log
    # columns of version 1.0 files.
    if spec.is_integer or spec.step == 0.0:
        if spec.is_integer:
            q = x.astype(np.int64)
            meta["transform"] = "int"
        else:  # stored exactly
            q = x.astype("<f8").view("<i8").astype(np.int64)
            meta["transform"] = "float64-bits"
    elif spec.log_step:
        # clamp to the steps whose decoded value stays inside the parameter's range
        lo, hi = math.ceil(math.log(spec.lo) / spec.step), math.floor(math.log(spec.hi) / spec.step)
        q = np.clip(np.round(np.log(x) / spec.step), lo, hi).astype(np.int64)
        meta.update(transform="log", step=spec.step)
    else:
        lo, hi = math.ceil(spec.lo / spec.step), math.floor(spec.hi / spec.step)
        q = np.clip(np.round(x / spec.step), lo, hi).astype(np.int64)
        meta.update(transform="linear", step=spec.step)
    delta = q.size > 1 and _width(np.diff(q)) < _width(q)
    coded = np.diff(q, prepend=0) if delta else q
    width = _width(coded)
    meta.update(delta=bool(delta), dtype=width)
    return meta, coded.astype(width).tobytes()


def _width(q: np.ndarray) -> str:
    if q.size == 0:
        return "<i1"
    lo, hi = int(q.min()), int(q.max())
    for w in _INT_WIDTHS:
        info = np.iinfo(np.dtype(w))
        if info.min <= lo and hi <= info.max:
            return w
    return "<i8"


# -------------------------------------------------------------------------------- loading
def load(
    path: str | os.PathLike,
    *,
    max_atoms: int = DEFAULT_MAX_ATOMS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AtomSet:
    """Read an ``.atoms`` file. Every failure raises :class:`AtomFileError` naming the problem.

    Parameters
    ----------
    max_atoms : int
        Refuse files declaring more atoms than this (per family).
    max_bytes : int
        Refuse files whose declared decompressed data exceeds this many bytes.
    """
    path = Path(path)
    limit = max_bytes + MAX_HEADER_BYTES
    data = _read_regular(path, limit, max_bytes)
    return from_bytes(data, name=str(path), max_atoms=max_atoms, max_bytes=max_bytes)


def _read_regular(path: Path, limit: int, max_bytes: int, *, prefix_only: bool = False
                  ) -> bytes:
    """The bytes of a regular file, at most ``limit`` (``prefix_only``: the prefix and the
    compressed header only, never more than ``_PREFIX.size + MAX_HEADER_BYTES``)."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise AtomFileError(f"{path}: is a directory, not an atom file")
        if not stat.S_ISREG(st.st_mode):  # /dev/zero, a FIFO: endless or blocking reads
            raise AtomFileError(f"{path}: not a regular file")
        if st.st_size > limit:
            raise AtomFileError(f"{path}: {st.st_size} bytes is larger than the "
                                f"{max_bytes}-byte limit")
        with open(path, "rb") as f:
            if prefix_only:
                head = f.read(_PREFIX.size)
                if len(head) < _PREFIX.size:
                    return head
                hclen = _PREFIX.unpack_from(head)[3]
                return head + f.read(min(hclen, MAX_HEADER_BYTES + 1))
            data = f.read(limit + 1)  # bounded even if the file grows while it is read
    except OSError as exc:
        raise AtomFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise AtomFileError(f"{path}: larger than the {max_bytes}-byte limit")
    return data


@dataclass(frozen=True)
class FileSummary:
    """What a file's header says, read without decoding its atoms (:func:`read_summary`).

    Attributes
    ----------
    header : AtomSet
        The set's header fields (sample rate, channels, ``duration_s``, mode tables, group and
        room names, provenance) with no atoms.
    mode : str
        ``"exact"`` or ``"compact"``.
    version : tuple of int
        Format version (major, minor).
    counts : dict of str to int
        Declared atoms per family. A compact mid/side MDCT stream decodes to up to twice its
        declared count (each mid/side atom becomes a left and a right atom).
    file_bytes : int
        Size of the file.
    """

    header: AtomSet
    mode: str
    version: tuple[int, int]
    counts: dict[str, int]
    file_bytes: int

    @property
    def n_atoms(self) -> int:
        """Declared atoms, both families."""
        return sum(self.counts.values())


def read_summary(path: str | os.PathLike, *, max_atoms: int = DEFAULT_MAX_ATOMS,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> FileSummary:
    """Read and validate a file's prefix and header only: the work and memory are bounded by
    the header (at most ``MAX_HEADER_BYTES``), whatever the number of atoms. The payload is
    neither read nor checked; :func:`load` does that."""
    path = Path(path)
    data = _read_regular(path, max_bytes + MAX_HEADER_BYTES, max_bytes, prefix_only=True)
    try:
        header, counts, _, version = _parse_header(memoryview(data), max_atoms, max_bytes)
        empty = _build(header, {fam: 0 for fam in _FAMILIES}, {fam: {} for fam in _FAMILIES})
    except AtomFileError as exc:
        raise AtomFileError(f"{path}: {exc}") from None
    except AtomsynthError as exc:
        raise AtomFileError(f"{path}: invalid header: {exc}") from None
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError, MemoryError,
            zlib.error, struct.error, UnicodeDecodeError) as exc:
        raise AtomFileError(f"{path}: corrupt file ({type(exc).__name__}: {exc})") from None
    return FileSummary(header=empty, mode=header["mode"], version=version, counts=counts,
                       file_bytes=path.stat().st_size)


def from_bytes(
    data: bytes,
    *,
    name: str = "<bytes>",
    max_atoms: int = DEFAULT_MAX_ATOMS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AtomSet:
    """Parse a file's bytes (see :func:`load`)."""
    try:
        return _parse(memoryview(data), max_atoms, max_bytes)
    except AtomFileError as exc:
        raise AtomFileError(f"{name}: {exc}") from None
    except AtomsynthError as exc:  # parameter validation of the decoded atoms
        raise AtomFileError(f"{name}: invalid atoms: {exc}") from None
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError, MemoryError,
            zlib.error, lzma.LZMAError, struct.error, UnicodeDecodeError) as exc:
        raise AtomFileError(f"{name}: corrupt file ({type(exc).__name__}: {exc})") from None


def _bounded_inflate(blob: memoryview, size: int, decompressor: Any, what: str) -> bytes:
    """Decompress ``blob`` to exactly ``size`` bytes, never producing more."""
    out = decompressor.decompress(bytes(blob), size + 1)
    if len(out) != size:
        raise AtomFileError(f"{what}: decompresses to {len(out)}+ bytes, header says {size}")
    return out


def _parse_header(buf: memoryview, max_atoms: int, max_bytes: int
                  ) -> tuple[dict, dict[str, int], int, tuple[int, int]]:
    """Check the prefix and header: (header, declared counts, offset of the data, version)."""
    if len(buf) < _PREFIX.size:
        raise AtomFileError(
            f"truncated: {len(buf)} bytes is shorter than the {_PREFIX.size}-byte prefix")
    magic, major, minor, hclen, hlen, hcrc = _PREFIX.unpack_from(buf)
    if magic != MAGIC:
        raise AtomFileError("not an atomsynth file (bad magic bytes)")
    if major != VERSION[0]:
        raise AtomFileError(
            f"format version {major}.{minor} is not supported (this reader reads {VERSION[0]}.x)"
        )
    if hclen > MAX_HEADER_BYTES or hlen > MAX_HEADER_BYTES:
        raise AtomFileError(f"header of {max(hclen, hlen)} bytes exceeds {MAX_HEADER_BYTES}")
    pos = _PREFIX.size
    if len(buf) < pos + hclen:
        raise AtomFileError("truncated inside the header")
    text = _bounded_inflate(buf[pos : pos + hclen], hlen, _header_decompressor(minor), "header")
    if zlib.crc32(text) != hcrc:
        raise AtomFileError("header checksum mismatch (corrupted file)")
    pos += hclen
    header = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    try:  # JSON escapes like \ud800 decode to lone surrogates no save or print can encode
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise AtomFileError("header holds text that is not valid Unicode (a lone surrogate)"
                            ) from None
    _require(isinstance(header, dict) and header.get("format") == "atomsynth",
             "header is not an atomsynth header")
    mode = header.get("mode")
    _require(mode in ("exact", "compact"), f"unknown mode {mode!r}")
    families = header.get("families")
    _require(isinstance(families, dict) and set(families) == set(_FAMILIES),
             f"families must be exactly {sorted(_FAMILIES)}")
    counts: dict[str, int] = {}
    declared = 0
    for fam, (_, specs) in _FAMILIES.items():
        entry = families[fam]
        _require(isinstance(entry, dict), f"{fam}: family entry is not an object")
        count = entry.get("count")
        _require(_is_int(count) and 0 <= count <= max_atoms,
                 f"{fam}: atom count {count!r} outside [0, {max_atoms}]")
        if mode == "compact" and "columns" not in entry and (
                count == 0 or fam == "mdct" and "mdct_coding" in header):
            # version 1.1 compact: empty families and range-coded MDCT atoms list no columns
            entry = dict(entry, columns=[{"name": s.name, "transform": "zero"} for s in specs])
            if fam == "mdct" and isinstance(entry.get("group"), dict):
                entry["columns"][-1] = dict(entry["group"], name="group")
            families[fam] = entry
        cols = entry.get("columns")
        _require(isinstance(cols, list) and [c.get("name") if isinstance(c, dict) else None
                                             for c in cols] == [s.name for s in specs],
                 f"{fam}: columns must be {[s.name for s in specs]}")
        counts[fam] = count
        declared += count * 8 * len(specs)
    _require(declared <= max_bytes, f"declared data of {declared} bytes exceeds {max_bytes}")
    return header, counts, pos, (major, minor)


def _parse(buf: memoryview, max_atoms: int, max_bytes: int) -> AtomSet:
    header, counts, pos, _ = _parse_header(buf, max_atoms, max_bytes)
    families = header["families"]
    mode = header["mode"]
    columns: dict[str, dict[str, np.ndarray]] = {fam: {} for fam in _FAMILIES}
    if mode == "exact":
        for fam, (_, specs) in _FAMILIES.items():
            for spec, meta in zip(specs, families[fam]["columns"]):
                dtype = np.dtype(spec.dtype).newbyteorder("<")
                _require(meta.get("dtype") == dtype.str and meta.get("encoding") == "zlib",
                         f"{fam}.{spec.name}: expected zlib-coded {dtype.str}")
                size = counts[fam] * dtype.itemsize
                nbytes = meta.get("nbytes")
                _require(meta.get("size") == size and _is_int(nbytes) and 0 < nbytes,
                         f"{fam}.{spec.name}: sizes do not match the atom count")
                _require(size <= _ZLIB_MAX_RATIO * nbytes + 64,
                         f"{fam}.{spec.name}: {nbytes} bytes cannot inflate to {size} (zlib "
                         f"expands at most {_ZLIB_MAX_RATIO}:1)")
                _require(len(buf) >= pos + nbytes, f"truncated inside column {fam}.{spec.name}")
                raw = _bounded_inflate(buf[pos : pos + nbytes], size, zlib.decompressobj(),
                                       f"{fam}.{spec.name}")
                _require(zlib.crc32(raw) == meta.get("crc32"),
                         f"{fam}.{spec.name}: checksum mismatch (corrupted file)")
                col = np.frombuffer(raw, dtype=dtype).astype(spec.dtype)
                _check_column(fam, spec, col)  # fail at the first bad column, not after all
                columns[fam][spec.name] = col
                pos += nbytes
    else:
        dmeta = header.get("data")
        _require(isinstance(dmeta, dict), "compact file without a data entry")
        size, nbytes = dmeta.get("size"), dmeta.get("nbytes")
        _require(_is_int(size) and _is_int(nbytes) and 0 <= size <= max_bytes and nbytes >= 0,
                 "compact data sizes are invalid")
        _require(len(buf) >= pos + nbytes, "truncated inside the data section")
        raw = b""
        if size:
            raw = _bounded_inflate(buf[pos : pos + nbytes], size,
                                   lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_LZMA_FILTERS),
                                   "data")
        _require(zlib.crc32(raw) == dmeta.get("crc32"), "data checksum mismatch (corrupted file)")
        pos += nbytes
        off = 0
        coded = header.get("mdct_coding")
        for fam, (_, specs) in _FAMILIES.items():
            for spec, meta in zip(specs, families[fam]["columns"]):
                if meta.get("transform") == "zero":
                    _require(counts[fam] == 0 or fam == "mdct" and coded is not None,
                             f"{fam}.{spec.name}: missing column")
                    continue
                width = meta.get("dtype")
                _require(width in _INT_WIDTHS, f"{fam}.{spec.name}: bad width {width!r}")
                n = counts[fam] * np.dtype(width).itemsize
                _require(off + n <= len(raw), f"{fam}.{spec.name}: data section too short")
                q = np.frombuffer(raw, dtype=width, count=counts[fam], offset=off).astype(np.int64)
                off += n
                columns[fam][spec.name] = _dequantize(spec, meta, q)
        _require(off == len(raw), "data section has trailing bytes")
        if coded is not None:
            _require(isinstance(coded, dict) and _is_int(coded.get("nbytes"))
                     and coded["nbytes"] >= 0 and coded.get("count") == counts["mdct"],
                     "mdct_coding entry is invalid")
            nb = coded["nbytes"]
            _require(len(buf) >= pos + nb, "truncated inside the MDCT bitstream")
            group = columns["mdct"].get("group")
            sr = header.get("sample_rate")
            dur = header.get("duration_s")
            _require(dur is None or isinstance(dur, (int, float)) and not isinstance(dur, bool)
                     and 0 <= dur <= 86400,
                     f"duration_s = {dur!r} is out of range; allowed [0, 86400] s")
            atoms = decode_mdct(coded, bytes(buf[pos : pos + nb]), count=counts["mdct"],
                                group=group, sample_rate=sr if _is_int(sr) and 0 < sr <= 384000
                                else None,
                                duration_s=None if dur is None else float(dur))
            columns["mdct"] = atoms.columns
            counts["mdct"] = len(atoms)  # mid/side atoms come back as (more) L/R atoms
            pos += nb
            prov = header.get("provenance")
            if isinstance(prov, dict):  # the set's quantization, as the atomizer recorded it
                prov["mdct_quantization"] = {k: coded[k] for k in ("n_levels", "range_db", "ref",
                                                                   "order", "stereo")
                                             if k in coded}
    _require(pos == len(buf), f"{len(buf) - pos} unexpected trailing bytes")
    return _build(header, counts, columns)


def _dequantize(spec: ParamSpec, meta: Mapping[str, Any], q: np.ndarray) -> np.ndarray:
    if meta.get("delta"):
        q = np.cumsum(q)
    t = meta.get("transform")
    if t == "int":
        return q
    if t == "float64-bits":
        return q.astype("<i8").view("<f8")
    step = meta.get("step")
    _require(isinstance(step, float) and 0 < step < 1e6, f"{spec.name}: bad step {step!r}")
    with np.errstate(over="ignore"):
        if t == "linear":
            return q * step
        if t == "log":
            return np.exp(q * step)
        if t == "signed-log":
            ref = meta.get("ref")
            _require(isinstance(ref, (int, float)) and math.isfinite(ref), "bad signed-log ref")
            mag = np.where(q != 0, np.exp((np.abs(q) - 1) * step + ref), 0.0)
            return np.sign(q) * mag
    raise AtomFileError(f"{spec.name}: unknown transform {t!r}")


def _build(header: Mapping[str, Any], counts: Mapping[str, int],
           columns: Mapping[str, Mapping[str, np.ndarray]]) -> AtomSet:
    tables = header.get("mode_tables", [])
    _require(isinstance(tables, list) and len(tables) <= 1024, "mode_tables must be a list")
    mode_tables = []
    for i, t in enumerate(tables):
        _require(isinstance(t, dict), f"mode_tables[{i}] is not an object")
        try:
            mode_tables.append(ModeTable(
                name=t.get("name"), ratios=t.get("ratios"), gains=t.get("gains"),
                decays=t.get("decays"), description=t.get("description", ""),
                source=t.get("source", ""), family=t.get("family", ""),
            ))
        except AtomsynthError as exc:
            raise AtomFileError(f"mode_tables[{i}]: {exc}") from None
    for key in ("group_names", "room_names"):
        _require(isinstance(header.get(key, []), list), f"{key} must be a list")
    provenance = header.get("provenance", {})
    _require(isinstance(provenance, dict), "provenance must be an object")
    return AtomSet(
        sample_rate=header.get("sample_rate"),
        channels=header.get("channels"),
        duration_s=header.get("duration_s"),
        provenance=provenance,
        mode_tables=tuple(mode_tables),
        group_names=tuple(header.get("group_names", [])),
        room_names=tuple(header.get("room_names", [])),
        resonant=ResonantAtoms(counts["resonant"], **columns["resonant"]),
        mdct=MdctAtoms(counts["mdct"], **columns["mdct"]),
    )


def _check_column(fam: str, spec: ParamSpec, col: np.ndarray) -> None:
    bad = ~np.isfinite(col) if col.dtype.kind == "f" else np.zeros(col.shape, bool)
    with np.errstate(invalid="ignore"):
        bad |= (col < spec.lo) | (col > spec.hi)
    if bad.any():
        i = int(np.argmax(bad))
        x = col[i].item()
        if isinstance(x, float) and not math.isfinite(x):
            raise AtomFileError(f"{fam} atom {i}: {spec.name} = {x} is not finite")
        raise AtomFileError(f"{fam} atom {i}: {spec.name} = {x!r} is out of range; "
                            f"allowed {spec.range_text()}")


def _reject_constant(name: str) -> Any:
    raise AtomFileError(f"header contains the non-JSON constant {name}")


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise AtomFileError(message)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def file_bitrate(path: str | os.PathLike, duration_s: float) -> float:
    """Bits per second of a file: every byte of it over ``duration_s``."""
    return Path(path).stat().st_size * 8.0 / duration_s if duration_s > 0 else math.inf
