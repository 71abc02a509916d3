"""A small reader and writer of binary SDIF files (Sound Description Interchange Format).

SDIF (IRCAM, CNMAT, MTG; https://sdif.sourceforge.net/standard/sdif-standard.html) is a sequence
of big-endian frames after a 16-byte header chunk::

    header   "SDIF"  int32 size (8)  int32 spec version (3)  int32 padding (1)
    frame    char[4] signature  int32 size (bytes after this field)  float64 time
             int32 stream id  int32 matrix count, then the matrices
    matrix   char[4] signature  int32 data type  int32 rows  int32 columns, then
             rows * columns values, row-major, zero-padded to a multiple of 8 bytes

Data types: 0x0004 float32, 0x0008 float64, 0x0101..0x0108 signed and 0x0201..0x0208
unsigned integers (low byte = size in bytes), 0x0301 UTF-8 text, 0x0401 bytes. The special
frames ``1NVT`` (name-value table: text ``name\\tvalue\\n`` lines) and ``1TYP`` (type
declarations: ``1MTD`` matrix types, ``1FTD`` frame types) are written and read here; the
frames of the data are whatever the caller passes.

This module is pure Python and NumPy, so that ``rt`` keeps its dependency rule. The maintained
binding of the IRCAM library, pysdif3, writes files that this reader reads (the tests check
that), but its 1.0.1 reader fails on Python 3.11 with NumPy 2 here (a ``TypeError`` on opening,
and a segmentation fault with an explicit signature), so it cannot be the importer.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from atomsynth.rt.errors import AtomFileError

MAGIC = b"SDIF"
SPEC_VERSION = 3
_HEADER = struct.Struct(">4siii")
_FRAME = struct.Struct(">4sidii")
_MATRIX = struct.Struct(">4siii")
_FRAME_FIXED = 16  # time, stream id and matrix count: the bytes a frame's size counts first
NVT_STREAM = 0xFFFFFFFD
TYP_STREAM = 0xFFFFFFFE
SPECIAL_TIME = -1.7976931348623157e308  # -DBL_MAX, the time the IRCAM library gives 1NVT/1TYP
TEXT = 0x0301
BYTES = 0x0401
_NUMERIC = {
    0x0004: ">f4", 0x0008: ">f8",
    0x0101: ">i1", 0x0102: ">i2", 0x0104: ">i4", 0x0108: ">i8",
    0x0201: ">u1", 0x0202: ">u2", 0x0204: ">u4", 0x0208: ">u8",
}
_TYPE_OF_DTYPE = {np.dtype(v).newbyteorder("=").str: k for k, v in _NUMERIC.items()}
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class Matrix:
    """One SDIF matrix: a 4-character signature and a 2-D array (or UTF-8 text)."""

    signature: str
    data: np.ndarray | str


@dataclass(frozen=True)
class Frame:
    """One SDIF frame: signature, time in seconds, stream id and its matrices."""

    signature: str
    time_s: float
    stream: int
    matrices: tuple[Matrix, ...] = field(default_factory=tuple)

    def matrix(self, signature: str) -> Matrix | None:
        """The first matrix of this signature, or None."""
        return next((m for m in self.matrices if m.signature == signature), None)


@dataclass(frozen=True)
class SdifFile:
    """The content of an SDIF file: name-value tables, declared types and data frames.

    Attributes
    ----------
    nvt : dict of str to str
        All ``1NVT`` entries (later tables override earlier ones).
    matrix_types : dict of str to tuple of str
        Column names of the matrix types declared in ``1TYP`` frames.
    frame_types : dict of str to tuple of str
        Matrix signatures of the frame types declared in ``1TYP`` frames.
    frames : tuple of Frame
        Every other frame, in file order.
    """

    nvt: dict[str, str]
    matrix_types: dict[str, tuple[str, ...]]
    frame_types: dict[str, tuple[str, ...]]
    frames: tuple[Frame, ...]


def _sig(signature: str) -> bytes:
    raw = signature.encode("ascii", "strict") if signature.isascii() else b""
    if len(raw) != 4:
        raise AtomFileError(f"SDIF signature {signature!r} must be 4 ASCII characters")
    return raw


def _pad8(n: int) -> int:
    return (-n) % 8


def _matrix_bytes(m: Matrix) -> bytes:
    if isinstance(m.data, str):
        payload = m.data.encode("utf-8") + b"\0"
        head = _MATRIX.pack(_sig(m.signature), TEXT, len(payload), 1)
        return head + payload + b"\0" * _pad8(len(payload))
    arr = np.asarray(m.data)
    if arr.ndim != 2:
        raise AtomFileError(f"SDIF matrix {m.signature}: data must be 2-D, got {arr.shape}")
    key = arr.dtype.newbyteorder("=").str
    if key not in _TYPE_OF_DTYPE:
        raise AtomFileError(f"SDIF matrix {m.signature}: no SDIF type for dtype {arr.dtype}")
    dtype_code = _TYPE_OF_DTYPE[key]
    payload = np.ascontiguousarray(arr, dtype=_NUMERIC[dtype_code]).tobytes()
    head = _MATRIX.pack(_sig(m.signature), dtype_code, arr.shape[0], arr.shape[1])
    return head + payload + b"\0" * _pad8(len(payload))


def frame_bytes(frame: Frame) -> bytes:
    """The bytes of one frame (header and padded matrices)."""
    body = b"".join(_matrix_bytes(m) for m in frame.matrices)
    return _FRAME.pack(_sig(frame.signature), _FRAME_FIXED + len(body), float(frame.time_s),
                       int(frame.stream) - (1 << 32 if frame.stream >= 1 << 31 else 0),
                       len(frame.matrices)) + body


def types_text(matrix_types: Mapping[str, Sequence[str]],
               frame_types: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """The text of a ``1TYP`` matrix (declarations in the form the IRCAM library writes).

    ``frame_types`` maps a frame signature to ``(matrix signature, role name)`` pairs.
    """
    lines = [f"  1MTD  {sig}\t{{{', '.join(cols)}}}" for sig, cols in matrix_types.items()]
    for sig, comps in frame_types.items():
        lines.append(f"  1FTD  {sig}")
        lines.append("\t{")
        lines += [f"\t  {msig}\t{name};" for msig, name in comps]
        lines.append("\t}")
    return "\n".join(lines) + "\n"


def to_bytes(frames: Iterable[Frame], *, nvt: Mapping[str, str] | None = None,
             types: str | None = None) -> bytes:
    """An SDIF file: header, an optional ``1NVT`` and ``1TYP`` frame, then ``frames``.

    Frames must be in non-decreasing time order (the standard requires it).
    """
    parts = [_HEADER.pack(MAGIC, 8, SPEC_VERSION, 1)]
    if nvt:
        text = "".join(f"{_nvt_field(k)}\t{_nvt_field(v)}\n" for k, v in nvt.items())
        parts.append(frame_bytes(Frame("1NVT", SPECIAL_TIME, NVT_STREAM,
                                       (Matrix("1NVT", text),))))
    if types:
        parts.append(frame_bytes(Frame("1TYP", SPECIAL_TIME, TYP_STREAM,
                                       (Matrix("1TYP", types),))))
    last = -math.inf
    for frame in frames:
        if frame.time_s < last:
            raise AtomFileError(f"SDIF frames out of time order: {frame.time_s} after {last}")
        last = frame.time_s
        parts.append(frame_bytes(frame))
    return b"".join(parts)


def _nvt_field(x: object) -> str:
    s = str(x)
    if any(c in s for c in "\t\n\0"):
        raise AtomFileError(f"SDIF name-value entry {s!r} may not hold tabs, newlines or NUL")
    return s


# --------------------------------------------------------------------------------- reading
def from_bytes(data: bytes | memoryview) -> SdifFile:
    """Parse an SDIF file; every size is checked before it is used.

    Raises
    ------
    AtomFileError
        Not SDIF, truncated, or a frame or matrix whose sizes do not add up.
    """
    buf = memoryview(data)
    if len(buf) < _HEADER.size:
        raise AtomFileError("SDIF file: shorter than its 16-byte header")
    magic, size, _version, _pad = _HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise AtomFileError(f"not an SDIF file (starts with {bytes(magic)!r}, not b'SDIF')")
    if size < 8 or 8 + size > len(buf):
        raise AtomFileError(f"SDIF file: header size {size} is impossible")
    pos = 8 + size
    nvt: dict[str, str] = {}
    mtypes: dict[str, tuple[str, ...]] = {}
    ftypes: dict[str, tuple[str, ...]] = {}
    frames: list[Frame] = []
    while pos < len(buf):
        if pos + _FRAME.size > len(buf):
            raise AtomFileError(f"SDIF file: truncated frame header at byte {pos}")
        fsig, fsize, time_s, stream, count = _FRAME.unpack_from(buf, pos)
        end = pos + 8 + fsize
        if fsize < _FRAME_FIXED or end > len(buf) or count < 0:
            raise AtomFileError(f"SDIF frame at byte {pos}: size {fsize} overruns the file")
        mpos = pos + _FRAME.size
        matrices = []
        for _ in range(count):
            m, mpos = _read_matrix(buf, mpos, end)
            matrices.append(m)
        name = _name(fsig, pos)
        if name == "1NVT":
            for m in matrices:
                nvt.update(_parse_nvt(m.data))
        elif name == "1TYP":
            for m in matrices:
                _parse_types(m.data, mtypes, ftypes)
        else:
            frames.append(Frame(name, float(time_s), stream & 0xFFFFFFFF, tuple(matrices)))
        pos = end
    return SdifFile(nvt, mtypes, ftypes, tuple(frames))


def _name(raw: bytes, pos: int) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise AtomFileError(f"SDIF: signature {raw!r} at byte {pos} is not ASCII") from None


def _read_matrix(buf: memoryview, pos: int, end: int) -> tuple[Matrix, int]:
    if pos + _MATRIX.size > end:
        raise AtomFileError(f"SDIF matrix at byte {pos}: header overruns its frame")
    msig, dtype_code, rows, cols = _MATRIX.unpack_from(buf, pos)
    name = _name(msig, pos)
    pos += _MATRIX.size
    if rows < 0 or cols < 0:
        raise AtomFileError(f"SDIF matrix {name} at byte {pos}: {rows} x {cols} is impossible")
    width = dtype_code & 0xFF
    if dtype_code not in _NUMERIC and dtype_code not in (TEXT, BYTES):
        raise AtomFileError(f"SDIF matrix {name}: unknown data type 0x{dtype_code:04x}")
    nbytes = rows * cols * width
    stop = pos + nbytes
    if stop > end:
        raise AtomFileError(f"SDIF matrix {name} at byte {pos}: {rows} x {cols} values overrun "
                            "its frame")
    raw = buf[pos:stop]
    if dtype_code == TEXT:
        data: np.ndarray | str = bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")
    elif dtype_code == BYTES:
        data = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols).copy()
    else:
        data = np.frombuffer(raw, dtype=_NUMERIC[dtype_code]).reshape(rows, cols)
        data = data.astype(data.dtype.newbyteorder("="))
    return Matrix(name, data), stop + _pad8(nbytes)


def _parse_nvt(text: object) -> dict[str, str]:
    out = {}
    if isinstance(text, str):
        for line in text.splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                out[k.strip()] = v.strip()
    return out


def _parse_types(text: object, mtypes: dict, ftypes: dict) -> None:
    """Read ``1MTD SIG {a, b}`` and ``1FTD SIG { MSIG name; ... }`` declarations."""
    if not isinstance(text, str):
        return
    tokens = text.replace("{", " { ").replace("}", " } ").replace(";", " ; ").split()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("1MTD", "1FTD") and i + 2 < len(tokens) and tokens[i + 2] == "{":
            sig = tokens[i + 1]
            j = tokens.index("}", i + 2) if "}" in tokens[i + 2:] else len(tokens)
            body = tokens[i + 3:j]
            if tok == "1MTD":
                mtypes[sig] = tuple(c for c in " ".join(body).replace(",", " ").split())
            else:
                ftypes[sig] = tuple(body[k] for k in range(0, len(body), 3))
            i = j + 1
        else:
            i += 1


def read(path) -> SdifFile:
    """Read an SDIF file from ``path`` (at most 1 GiB)."""
    import os

    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise AtomFileError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} allowed")
    with open(path, "rb") as f:
        return from_bytes(f.read())


__all__ = ["Frame", "Matrix", "SdifFile", "from_bytes", "read", "to_bytes", "types_text"]
