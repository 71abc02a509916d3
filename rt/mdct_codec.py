"""Context-adaptive range coding of MDCT atoms' discrete features (the compact bitstream).

The atoms are quantized to their discrete features (:func:`atomsynth.rt.features.quantize_mdct`:
scale, frame, bin, channel, sign, velocity) and sorted canonically by (scale, channel, frame,
bin). Each (scale, channel) pair with atoms is a *stream*, described in the file header by
``[scale index, channel, atoms, first frame, last frame, largest bin]``. Within a stream, with
one binary adaptive range coder (:mod:`atomsynth.rt.rangecoder`) shared by all streams:

* every frame from the first to the last codes an *active* flag (context: scale, previous
  frame active);
* in an active frame every bin ``k`` from 0 to the stream's largest bin codes a *significance*
  flag, context ``(scale, band = bit_length(k), number of significant bins among k-1, k-2 in
  this frame, significance of k-1 or k+1 in the previous frame, significance of k in the
  previous frame)`` (13 x 3 x 2 x 2 contexts per scale);
* a significant bin codes ``d = n_levels - 1 - velocity`` (dB steps under the loudest atom) as
  an Exp-Golomb code: the prefix ``n = bit_length(d + 1) - 1`` in unary with adaptive bits
  (context: the same bin's ``d`` in the previous frame, as ``1 + bit_length``, or 0 if it was
  silent; and the prefix position), then the ``n`` low bits of ``d + 1`` with adaptive bits
  (context: ``n`` and bit position); then the sign as one raw bit.

The decoder reverses exactly this and is bounded: every loop step consumes a coded decision,
reading past the end of the payload is corruption, and the counts come from the validated
header. The atoms' order is restored from the header's ``order`` (one of the deterministic
orders of :func:`atomsynth.rt.features.order`), else they come back in canonical order.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from numba import njit

from atomsynth.rt import rangecoder as rc
from atomsynth.rt.atoms import MAX_TIME_S, MdctAtoms
from atomsynth.rt.errors import AtomFileError
from atomsynth.rt.features import MdctFeatures, dequantize_mdct, order, quantize_mdct
from atomsynth.rt.params import MDCT_SCALES

CODING = "mdct-range-v1"
STEREO_MODES = ("mono", "lr", "ms")
"""How channels 0 and 1 are coded: as they are (``lr``; also every file without the key) or
as mid/side (``ms``, format 1.2), ``M = (L + R) / sqrt 2``, ``S = (L - R) / sqrt 2``."""
N_BANDS = 13
SIG_CTX = N_BANDS * 3 * 2 * 2
VP_CTX = 18
MAX_PREFIX = 16
MAX_BINS = max(MDCT_SCALES) // 2
MAX_GAP_FRAMES = 1024
"""Silent frames a stream codes at most between two atoms; a longer gap starts a new stream."""
MAX_REF = 1.0e6
"""The largest velocity reference a file may declare (the largest allowed ``|value|``)."""
_ORDER_NAMES = ("velocity", "time", "frequency", "channel")


@njit(cache=True, nogil=True, inline="always")
def _bitlen(x):
    n = 0
    while x > 0:
        n += 1
        x >>= 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _sig_ctx(s, k, cur, prev, kmax):
    band = _bitlen(k)
    if band > N_BANDS - 1:
        band = N_BANDS - 1
    c = 0
    if k >= 1:
        c += cur[k - 1]
    if k >= 2:
        c += cur[k - 2]
    b = 0
    if k >= 1 and prev[k - 1]:
        b = 1
    if k + 1 <= kmax and prev[k + 1]:
        b = 1
    return s * SIG_CTX + ((band * 3 + c) * 2 + b) * 2 + prev[k]


@njit(cache=True, nogil=True)
def encode_kernel(frames, bins, dvel, signs, streams, out):
    """Encode canonical-sorted atoms; ``streams`` rows: scale, channel, n, f0, f1, kmax.

    Returns the number of bytes the stream needs (larger than ``out.size`` means retry with a
    bigger buffer).
    """
    st = rc.new_encoder()
    rc.enc_init(st)
    p_act = np.full(2 * 8, rc.PROB_INIT, dtype=np.int64)
    p_sig = np.full(8 * SIG_CTX, rc.PROB_INIT, dtype=np.int64)
    p_vp = np.full(VP_CTX * MAX_PREFIX, rc.PROB_INIT, dtype=np.int64)
    p_vs = np.full((MAX_PREFIX + 1) * MAX_PREFIX, rc.PROB_INIT, dtype=np.int64)
    prev = np.zeros(MAX_BINS + 2, dtype=np.int64)
    cur = np.zeros(MAX_BINS + 2, dtype=np.int64)
    prev_d = np.zeros(MAX_BINS + 2, dtype=np.int64)
    cur_d = np.zeros(MAX_BINS + 2, dtype=np.int64)
    idx = 0
    for r in range(streams.shape[0]):
        s = streams[r, 0]
        hi = idx + streams[r, 2]
        f0 = streams[r, 3]
        f1 = streams[r, 4]
        kmax = streams[r, 5]
        prev[: kmax + 2] = 0
        prev_active = 0
        for t in range(f0, f1 + 1):
            active = 1 if (idx < hi and frames[idx] == t) else 0
            rc.enc_bit(st, out, p_act, s * 2 + prev_active, active)
            if active:
                cur[: kmax + 2] = 0
                for k in range(kmax + 1):
                    sig = 1 if (idx < hi and frames[idx] == t and bins[idx] == k) else 0
                    rc.enc_bit(st, out, p_sig, _sig_ctx(s, k, cur, prev, kmax), sig)
                    if sig:
                        cur[k] = 1
                        d = dvel[idx]
                        cur_d[k] = d
                        cv = 1 + min(_bitlen(prev_d[k]), VP_CTX - 2) if prev[k] else 0
                        x = d + 1
                        n = _bitlen(x) - 1
                        for i in range(MAX_PREFIX):
                            if i < n:
                                rc.enc_bit(st, out, p_vp, cv * MAX_PREFIX + i, 1)
                            else:
                                rc.enc_bit(st, out, p_vp, cv * MAX_PREFIX + i, 0)
                                break
                        for i in range(n):
                            bit = (x >> (n - 1 - i)) & 1
                            rc.enc_bit(st, out, p_vs, n * MAX_PREFIX + i, bit)
                        rc.enc_direct(st, out, signs[idx])
                        idx += 1
                prev[: kmax + 2] = cur[: kmax + 2]
                prev_d[: kmax + 2] = cur_d[: kmax + 2]
            elif prev_active:
                prev[: kmax + 2] = 0
            prev_active = active
    return rc.enc_flush(st, out)


@njit(cache=True, nogil=True)
def decode_kernel(data, streams, frames, bins, dvel, signs):
    """Inverse of :func:`encode_kernel`. Returns atoms decoded, or -1 on corrupt input."""
    st = rc.new_decoder()
    rc.dec_init(st, data)
    p_act = np.full(2 * 8, rc.PROB_INIT, dtype=np.int64)
    p_sig = np.full(8 * SIG_CTX, rc.PROB_INIT, dtype=np.int64)
    p_vp = np.full(VP_CTX * MAX_PREFIX, rc.PROB_INIT, dtype=np.int64)
    p_vs = np.full((MAX_PREFIX + 1) * MAX_PREFIX, rc.PROB_INIT, dtype=np.int64)
    prev = np.zeros(MAX_BINS + 2, dtype=np.int64)
    cur = np.zeros(MAX_BINS + 2, dtype=np.int64)
    prev_d = np.zeros(MAX_BINS + 2, dtype=np.int64)
    cur_d = np.zeros(MAX_BINS + 2, dtype=np.int64)
    cap = frames.size
    idx = 0
    for r in range(streams.shape[0]):
        s = streams[r, 0]
        hi = idx + streams[r, 2]
        f0 = streams[r, 3]
        f1 = streams[r, 4]
        kmax = streams[r, 5]
        prev[: kmax + 2] = 0
        prev_active = 0
        for t in range(f0, f1 + 1):
            if rc.dec_overrun(st):
                return -1
            active = rc.dec_bit(st, data, p_act, s * 2 + prev_active)
            if active:
                cur[: kmax + 2] = 0
                for k in range(kmax + 1):
                    sig = rc.dec_bit(st, data, p_sig, _sig_ctx(s, k, cur, prev, kmax))
                    if sig:
                        if idx >= hi or idx >= cap:
                            return -1
                        cur[k] = 1
                        cv = 1 + min(_bitlen(prev_d[k]), VP_CTX - 2) if prev[k] else 0
                        n = 0
                        for i in range(MAX_PREFIX):
                            if rc.dec_bit(st, data, p_vp, cv * MAX_PREFIX + i):
                                n += 1
                            else:
                                break
                        x = 1
                        for i in range(n):
                            x = (x << 1) | rc.dec_bit(st, data, p_vs, n * MAX_PREFIX + i)
                        cur_d[k] = x - 1
                        frames[idx] = t
                        bins[idx] = k
                        dvel[idx] = x - 1
                        signs[idx] = rc.dec_direct(st, data)
                        idx += 1
                if cur[: kmax + 1].sum() == 0:  # the encoder never marks an empty frame active
                    return -1
                prev[: kmax + 2] = cur[: kmax + 2]
                prev_d[: kmax + 2] = cur_d[: kmax + 2]
            elif prev_active:
                prev[: kmax + 2] = 0
            prev_active = active
        if idx != hi:
            return -1
    if rc.dec_overrun(st):
        return -1
    return idx


def _order_name(features: MdctFeatures) -> str:
    ident = np.arange(len(features))
    for name in _ORDER_NAMES:
        if np.array_equal(order(features, name), ident):
            return name
    return "canonical"


def merge_duplicates(atoms: MdctAtoms) -> MdctAtoms:
    """Atoms that share a basis function (scale, frame, bin, channel) and a group, summed.

    Their sum is the same signal, so nothing audible changes; atoms whose values cancel are
    dropped. Returns ``atoms`` itself when no two share a basis function.
    """
    if len(atoms) < 2:
        return atoms
    keys = np.stack([atoms.scale.astype(np.int64), atoms.frame.astype(np.int64),
                     atoms.bin.astype(np.int64), atoms.channel.astype(np.int64),
                     atoms.group.astype(np.int64)], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    if uniq.shape[0] == len(atoms):
        return atoms
    value = np.bincount(inverse.ravel(), weights=atoms.value, minlength=uniq.shape[0])
    keep = value != 0
    u = uniq[keep]
    return MdctAtoms(int(keep.sum()), scale=u[:, 0], frame=u[:, 1], bin=u[:, 2],
                     channel=u[:, 3], group=u[:, 4], value=value[keep])


def butterfly(atoms: MdctAtoms) -> MdctAtoms:
    """The orthonormal butterfly on channels 0 and 1 (its own inverse), other channels kept:
    channel 0 gets ``(a0 + a1) / sqrt 2`` and channel 1 ``(a0 - a1) / sqrt 2`` per position."""
    if not len(atoms):
        return atoms
    c = math.sqrt(0.5)
    ch, v = atoms.channel, atoms.value
    pair = ch <= 1
    cols = {k: atoms[k] for k in ("scale", "frame", "bin", "group")}
    out_ch = np.concatenate([np.where(pair, 0, ch), np.ones(int(pair.sum()), np.int64)])
    sgn = np.where(ch == 1, -1.0, 1.0)[pair]
    out_v = np.concatenate([np.where(pair, v * c, v), v[pair] * c * sgn])
    both = {k: np.concatenate([col, col[pair]]) for k, col in cols.items()}
    return merge_duplicates(MdctAtoms(out_v.size, channel=out_ch, value=out_v, **both))


def lr_to_ms(atoms: MdctAtoms) -> MdctAtoms:
    """L/R atoms (channels 0, 1) to mid/side atoms at the same positions (see
    :data:`STEREO_MODES`); atoms that cancel are dropped."""
    return butterfly(atoms)


def ms_to_lr(atoms: MdctAtoms) -> MdctAtoms:
    """Inverse of :func:`lr_to_ms` (the same butterfly)."""
    return butterfly(atoms)


def _layers(c: dict, group: np.ndarray) -> np.ndarray:
    """0 for the first atom at a position (scale, channel, frame, bin), 1 for a second one (of
    another group), and so on: each layer is coded as streams of its own."""
    n = c["bin"].size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order_ = np.lexsort((group, c["bin"], c["frame"], c["channel"], c["scale"]))
    pos = np.stack([c[k][order_] for k in ("scale", "channel", "frame", "bin")], axis=1)
    new = np.r_[True, np.any(pos[1:] != pos[:-1], axis=1)]
    run_start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    layer = np.empty(n, dtype=np.int64)
    layer[order_] = np.arange(n) - run_start
    return layer


def encode_mdct(atoms: MdctAtoms, *, n_levels: int = 64, range_db: float = 96.0,
                ref: float | None = None, stereo: str = "lr") -> tuple[dict, bytes, np.ndarray]:
    """Quantize and range-code ``atoms`` (with ``stereo="ms"``: as mid/side, see
    :data:`STEREO_MODES`).

    Returns
    -------
    meta : dict
        JSON-able header entry (coding, quantization, order, streams, nbytes, crc32, count).
    payload : bytes
    group : ndarray of int64
        The atoms' groups in canonical order (stored by the caller, if not all zero).
    """
    atoms = lr_to_ms(atoms) if stereo == "ms" else merge_duplicates(atoms)
    feats = quantize_mdct(atoms, n_levels=n_levels, range_db=range_db, ref=ref)
    name = _order_name(feats) if len(feats) else "canonical"
    c = feats.columns
    layer = _layers(c, feats.group)
    perm = np.lexsort((c["bin"], c["frame"], c["channel"], layer, c["scale"]))
    f = {k: v[perm] for k, v in c.items()}
    group = feats.group[perm]
    layer = layer[perm]
    streams = []
    if len(feats):
        # one stream per (scale, layer, channel): inside it every (frame, bin) is unique
        key = (f["scale"] * (layer.max() + 1) + layer) * 64 + f["channel"]
        # a long silent gap starts a new stream: ~30 header bytes instead of a flag per frame,
        # so coding work (and the file) stays proportional to the atoms, not to their span
        gap = np.diff(f["frame"]) > MAX_GAP_FRAMES
        starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | gap])
        ends = np.r_[starts[1:], key.size]
        for a, b in zip(starts, ends, strict=True):
            streams.append([int(f["scale"][a]), int(f["channel"][a]), int(b - a),
                            int(f["frame"][a]), int(f["frame"][b - 1]),
                            int(f["bin"][a:b].max())])
    st_arr = np.array(streams, dtype=np.int64).reshape(-1, 6)
    dvel = (n_levels - 1 - f["velocity"]).astype(np.int64)
    frames, bins, signs = (f[k].astype(np.int64) for k in ("frame", "bin", "sign"))
    size = 64 + 40 * len(feats) + int(sum(s[4] - s[3] + 1 for s in streams))
    out = np.zeros(size, dtype=np.uint8)
    n = int(encode_kernel(frames, bins, dvel, signs, st_arr, out))
    if n > out.size:  # pragma: no cover - the bound above is generous
        out = np.zeros(n, dtype=np.uint8)
        n = int(encode_kernel(frames, bins, dvel, signs, st_arr, out))
    payload = out[:n].tobytes() if len(feats) else b""
    meta = {"coding": CODING, "count": len(feats), "n_levels": int(feats.n_levels),
            "range_db": float(feats.range_db), "ref": float(feats.ref), "order": name,
            "streams": streams, "nbytes": len(payload), "crc32": zlib.crc32(payload)}
    if stereo == "ms":
        meta["stereo"] = "ms"
    return meta, payload, group


def _bad(msg: str) -> AtomFileError:
    return AtomFileError(f"mdct bitstream: {msg}")


def _int(x, lo, hi, what) -> int:
    if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
        raise _bad(f"{what} = {x!r} outside [{lo}, {hi}]")
    return x


def last_frame(scale: int, sample_rate: int, duration_s: float) -> int:
    """The last frame at ``scale`` whose atom starts inside ``duration_s`` (its first sample,
    ``(frame - 1) * scale / 2``, before ``duration_s * sample_rate``). The compact writer
    declares a duration that covers every atom; the reader refuses streams past it (with one
    frame of slack)."""
    hop = scale // 2
    return max(0, math.ceil(duration_s * sample_rate / hop))


def decode_mdct(meta: dict, payload: bytes, *, count: int,
                group: np.ndarray | None = None, sample_rate: int | None = None,
                duration_s: float | None = None) -> MdctAtoms:
    """Decode what :func:`encode_mdct` wrote (``meta`` from an untrusted header).

    The work is bounded before decoding starts: every atom codes one raw sign bit, so
    ``count`` may not exceed the payload's bits; with ``sample_rate``, no stream may reach
    past :data:`~atomsynth.rt.atoms.MAX_TIME_S`, and with ``duration_s`` too (the header's),
    past the frame of :func:`last_frame` plus one. During decoding every decision consumes
    input (the range coder's overrun check), so the loop runs at most ~755 decisions per
    payload byte.
    """
    if not isinstance(meta, dict) or meta.get("coding") != CODING:
        raise _bad(f"unknown coding {meta.get('coding') if isinstance(meta, dict) else meta!r}")
    n_levels = _int(meta.get("n_levels"), 2, 65536, "n_levels")
    range_db, ref = meta.get("range_db"), meta.get("ref")
    if not isinstance(range_db, (int, float)) or not 1.0 <= range_db <= 400.0:
        raise _bad(f"range_db = {range_db!r} outside [1, 400]")
    if not isinstance(ref, (int, float)) or not (math.isfinite(ref) and 0 < ref <= MAX_REF):
        raise _bad(f"ref = {ref!r} is not a positive magnitude")
    stereo = meta.get("stereo", "lr")
    if stereo not in STEREO_MODES:
        raise _bad(f"unknown stereo coding {stereo!r}")
    name = meta.get("order")
    if name not in _ORDER_NAMES + ("canonical",):
        raise _bad(f"unknown order {name!r}")
    if zlib.crc32(payload) != meta.get("crc32"):
        raise _bad("checksum mismatch (corrupted file)")
    if count > 8 * len(payload) + 64:
        raise _bad(f"{count} atoms cannot fit in {len(payload)} bytes (each atom codes at least "
                   "one bit)")
    streams = meta.get("streams")
    if not isinstance(streams, list) or len(streams) > max(count, 1):
        raise _bad("streams must be a list of at most one entry per atom")
    rows, total = [], 0
    for i, row in enumerate(streams):
        if not isinstance(row, list) or len(row) != 6:
            raise _bad(f"stream {i} is not [scale, channel, n, first, last, max bin]")
        s = _int(row[0], 0, len(MDCT_SCALES) - 1, f"stream {i} scale")
        _int(row[1], 0, 63, f"stream {i} channel")
        n = _int(row[2], 1, count, f"stream {i} count")
        f0 = _int(row[3], 0, 2**31 - 1, f"stream {i} first frame")
        last = (2**31 - 1 if sample_rate is None else
                int(MAX_TIME_S * sample_rate) // (MDCT_SCALES[s] // 2) + 1)
        if f0 > last:
            raise _bad(f"stream {i} first frame = {f0} starts after {MAX_TIME_S:g} s")
        if sample_rate is not None and duration_s is not None:
            end = last_frame(MDCT_SCALES[s], sample_rate, duration_s) + 1
            if _int(row[4], f0, last, f"stream {i} last frame") > end:
                raise _bad(f"stream {i} reaches frame {row[4]} at scale {MDCT_SCALES[s]}, past "
                           f"the declared duration of {duration_s:g} s (at most frame {end})")
        _int(row[4], f0, last, f"stream {i} last frame")
        _int(row[5], 0, MDCT_SCALES[s] // 2 - 1, f"stream {i} max bin")
        rows.append(row)
        total += n
    if total != count:
        raise _bad(f"streams hold {total} atoms, header says {count}")
    if count == 0:
        return MdctAtoms.empty()
    frames, bins, dvel, signs = (np.zeros(count, dtype=np.int64) for _ in range(4))
    st_arr = np.array(rows, dtype=np.int64).reshape(-1, 6)
    got = decode_kernel(np.frombuffer(payload, dtype=np.uint8), st_arr, frames, bins, dvel,
                        signs)
    if got != count:
        raise _bad("corrupt or truncated payload")
    if np.any(dvel > n_levels - 1):
        raise _bad("velocity outside the quantization range")
    scale = np.repeat(st_arr[:, 0], st_arr[:, 2]) if count else np.zeros(0, dtype=np.int64)
    chan = np.repeat(st_arr[:, 1], st_arr[:, 2]) if count else np.zeros(0, dtype=np.int64)
    if group is None:
        group = np.zeros(count, dtype=np.int64)
    feats = MdctFeatures({"scale": scale, "frame": frames, "bin": bins, "channel": chan,
                          "sign": signs, "velocity": n_levels - 1 - dvel},
                         float(ref), float(range_db), n_levels, np.asarray(group, np.int64))
    if name != "canonical":
        feats = feats.select(order(feats, name))
    atoms = dequantize_mdct(feats)
    return ms_to_lr(atoms) if stereo == "ms" else atoms
