"""A binary adaptive range coder (the LZMA construction), as pure Numba kernels.

Probabilities are 11-bit integers (``p`` = probability of a 0 bit, times 2048, start 1024) that
adapt by ``p += (2048 - p) >> 4`` after a 0 and ``p -= p >> 4`` after a 1. The encoder keeps
``low`` (33 bits used), ``range`` (32 bits) and a carry cache; the decoder keeps ``range`` and
``code``. Encoder and decoder perform the same integer arithmetic, so decoding is exact.

State arrays (uint64, made by :func:`new_encoder` / :func:`new_decoder`, indexed by the named
constants): encoder ``[ENC_LOW, ENC_RANGE, ENC_CACHE, ENC_CACHE_SIZE, ENC_POS]``; decoder
``[DEC_RANGE, DEC_CODE, DEC_POS, DEC_OVERRUN]``. ``DEC_OVERRUN`` counts bytes read past the
end of the input: a valid stream never reads past its end, so the decoder's caller treats
:func:`dec_overrun` as corruption; this also bounds the work a hostile stream can cause (each
decoded decision costs at least ~0.02 bits of input).
"""

from __future__ import annotations

import numpy as np
from numba import njit

PROB_BITS = 11
PROB_INIT = 1 << (PROB_BITS - 1)
MOVE_BITS = 4
_TOP = np.uint64(1 << 24)
_MASK32 = np.uint64(0xFFFFFFFF)

ENC_LOW, ENC_RANGE, ENC_CACHE, ENC_CACHE_SIZE, ENC_POS = 0, 1, 2, 3, 4
"""Encoder state: ``low`` (33 bits used), ``range``, the pending byte (carry cache), the
number of pending bytes, and the output position."""
DEC_RANGE, DEC_CODE, DEC_POS, DEC_OVERRUN = 0, 1, 2, 3
"""Decoder state: ``range``, ``code``, the input position, bytes read past the end."""


@njit(cache=True, nogil=True)
def new_encoder():
    """A fresh encoder state (call :func:`enc_init` on it)."""
    return np.zeros(5, dtype=np.uint64)


@njit(cache=True, nogil=True)
def new_decoder():
    """A fresh decoder state (call :func:`dec_init` on it)."""
    return np.zeros(4, dtype=np.uint64)


@njit(cache=True, nogil=True)
def dec_overrun(st):
    """True when the decoder has read past the end of its input (a corrupt stream)."""
    return st[DEC_OVERRUN] > 0


@njit(cache=True, nogil=True)
def enc_init(st):
    st[ENC_LOW] = 0
    st[ENC_RANGE] = 0xFFFFFFFF
    st[ENC_CACHE] = 0
    st[ENC_CACHE_SIZE] = 1
    st[ENC_POS] = 0


@njit(cache=True, nogil=True)
def _shift_low(st, out):
    low = st[ENC_LOW]
    if low < np.uint64(0xFF000000) or low >= np.uint64(1 << 32):
        carry = low >> np.uint64(32)
        temp = st[ENC_CACHE]
        while True:
            p = st[ENC_POS]
            if p < out.size:
                out[p] = np.uint8((temp + carry) & np.uint64(0xFF))
            st[ENC_POS] = p + np.uint64(1)
            temp = np.uint64(0xFF)
            st[ENC_CACHE_SIZE] -= np.uint64(1)
            if st[ENC_CACHE_SIZE] == 0:
                break
        st[ENC_CACHE] = (low >> np.uint64(24)) & np.uint64(0xFF)
    st[ENC_CACHE_SIZE] += np.uint64(1)
    st[ENC_LOW] = (low & np.uint64(0x00FFFFFF)) << np.uint64(8)


@njit(cache=True, nogil=True)
def enc_bit(st, out, probs, i, bit):
    """Encode ``bit`` with the adaptive probability ``probs[i]``."""
    p = probs[i]
    bound = (st[ENC_RANGE] >> np.uint64(PROB_BITS)) * np.uint64(p)
    if bit == 0:
        st[ENC_RANGE] = bound
        probs[i] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS)
    else:
        st[ENC_LOW] += bound
        st[ENC_RANGE] -= bound
        probs[i] = p - (p >> MOVE_BITS)
    while st[ENC_RANGE] < _TOP:
        st[ENC_RANGE] = (st[ENC_RANGE] << np.uint64(8)) & _MASK32
        _shift_low(st, out)


@njit(cache=True, nogil=True)
def enc_direct(st, out, bit):
    """Encode ``bit`` with probability 1/2 (no model)."""
    st[ENC_RANGE] = st[ENC_RANGE] >> np.uint64(1)
    if bit:
        st[ENC_LOW] += st[ENC_RANGE]
    while st[ENC_RANGE] < _TOP:
        st[ENC_RANGE] = (st[ENC_RANGE] << np.uint64(8)) & _MASK32
        _shift_low(st, out)


@njit(cache=True, nogil=True)
def enc_flush(st, out):
    """Finish the stream; returns the number of bytes written (may exceed out.size)."""
    for _ in range(5):
        _shift_low(st, out)
    return st[ENC_POS]


@njit(cache=True, nogil=True)
def _next_byte(st, data):
    p = st[DEC_POS]
    st[DEC_POS] = p + np.uint64(1)
    if p < data.size:
        return np.uint64(data[p])
    st[DEC_OVERRUN] += np.uint64(1)
    return np.uint64(0)


@njit(cache=True, nogil=True)
def dec_init(st, data):
    st[DEC_RANGE] = 0xFFFFFFFF
    st[DEC_CODE] = 0
    st[DEC_POS] = 0
    st[DEC_OVERRUN] = 0
    for _ in range(5):
        st[DEC_CODE] = ((st[DEC_CODE] << np.uint64(8)) | _next_byte(st, data)) & _MASK32


@njit(cache=True, nogil=True)
def dec_bit(st, data, probs, i):
    p = probs[i]
    bound = (st[DEC_RANGE] >> np.uint64(PROB_BITS)) * np.uint64(p)
    if st[DEC_CODE] < bound:
        st[DEC_RANGE] = bound
        probs[i] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS)
        bit = 0
    else:
        st[DEC_CODE] -= bound
        st[DEC_RANGE] -= bound
        probs[i] = p - (p >> MOVE_BITS)
        bit = 1
    while st[DEC_RANGE] < _TOP:
        st[DEC_RANGE] = (st[DEC_RANGE] << np.uint64(8)) & _MASK32
        st[DEC_CODE] = ((st[DEC_CODE] << np.uint64(8)) | _next_byte(st, data)) & _MASK32
    return bit


@njit(cache=True, nogil=True)
def dec_direct(st, data):
    st[DEC_RANGE] = st[DEC_RANGE] >> np.uint64(1)
    bit = 0
    if st[DEC_CODE] >= st[DEC_RANGE]:
        st[DEC_CODE] -= st[DEC_RANGE]
        bit = 1
    while st[DEC_RANGE] < _TOP:
        st[DEC_RANGE] = (st[DEC_RANGE] << np.uint64(8)) & _MASK32
        st[DEC_CODE] = ((st[DEC_CODE] << np.uint64(8)) | _next_byte(st, data)) & _MASK32
    return bit
