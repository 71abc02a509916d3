"""A binary adaptive range coder (the LZMA construction), as pure Numba kernels.

Probabilities are 11-bit integers (``p`` = probability of a 0 bit, times 2048, start 1024) that
adapt by ``p += (2048 - p) >> 4`` after a 0 and ``p -= p >> 4`` after a 1. The encoder keeps
``low`` (33 bits used), ``range`` (32 bits) and a carry cache; the decoder keeps ``range`` and
``code``. Encoder and decoder perform the same integer arithmetic, so decoding is exact.

State arrays (uint64): encoder ``[low, range, cache, cache_size, pos]``; decoder
``[range, code, pos, overrun]``. ``overrun`` counts bytes read past the end of the input: a
valid stream never reads past its end, so the decoder's caller treats ``overrun > 0`` as
corruption; this also bounds the work a hostile stream can cause (each decoded decision costs
at least ~0.02 bits of input).
"""

from __future__ import annotations

import numpy as np
from numba import njit

PROB_BITS = 11
PROB_INIT = 1 << (PROB_BITS - 1)
MOVE_BITS = 4
_TOP = np.uint64(1 << 24)
_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def enc_init(st):
    st[0] = 0
    st[1] = 0xFFFFFFFF
    st[2] = 0
    st[3] = 1
    st[4] = 0


@njit(cache=True, nogil=True)
def _shift_low(st, out):
    low = st[0]
    if low < np.uint64(0xFF000000) or low >= np.uint64(1 << 32):
        carry = low >> np.uint64(32)
        temp = st[2]
        while True:
            p = st[4]
            if p < out.size:
                out[p] = np.uint8((temp + carry) & np.uint64(0xFF))
            st[4] = p + np.uint64(1)
            temp = np.uint64(0xFF)
            st[3] -= np.uint64(1)
            if st[3] == 0:
                break
        st[2] = (low >> np.uint64(24)) & np.uint64(0xFF)
    st[3] += np.uint64(1)
    st[0] = (low & np.uint64(0x00FFFFFF)) << np.uint64(8)


@njit(cache=True, nogil=True)
def enc_bit(st, out, probs, i, bit):
    """Encode ``bit`` with the adaptive probability ``probs[i]``."""
    p = probs[i]
    bound = (st[1] >> np.uint64(PROB_BITS)) * np.uint64(p)
    if bit == 0:
        st[1] = bound
        probs[i] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS)
    else:
        st[0] += bound
        st[1] -= bound
        probs[i] = p - (p >> MOVE_BITS)
    while st[1] < _TOP:
        st[1] = (st[1] << np.uint64(8)) & _MASK32
        _shift_low(st, out)


@njit(cache=True, nogil=True)
def enc_direct(st, out, bit):
    """Encode ``bit`` with probability 1/2 (no model)."""
    st[1] = st[1] >> np.uint64(1)
    if bit:
        st[0] += st[1]
    while st[1] < _TOP:
        st[1] = (st[1] << np.uint64(8)) & _MASK32
        _shift_low(st, out)


@njit(cache=True, nogil=True)
def enc_flush(st, out):
    """Finish the stream; returns the number of bytes written (may exceed out.size)."""
    for _ in range(5):
        _shift_low(st, out)
    return st[4]


@njit(cache=True, nogil=True)
def _next_byte(st, data):
    p = st[2]
    st[2] = p + np.uint64(1)
    if p < data.size:
        return np.uint64(data[p])
    st[3] += np.uint64(1)
    return np.uint64(0)


@njit(cache=True, nogil=True)
def dec_init(st, data):
    st[0] = 0xFFFFFFFF
    st[1] = 0
    st[2] = 0
    st[3] = 0
    for _ in range(5):
        st[1] = ((st[1] << np.uint64(8)) | _next_byte(st, data)) & _MASK32


@njit(cache=True, nogil=True)
def dec_bit(st, data, probs, i):
    p = probs[i]
    bound = (st[0] >> np.uint64(PROB_BITS)) * np.uint64(p)
    if st[1] < bound:
        st[0] = bound
        probs[i] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS)
        bit = 0
    else:
        st[1] -= bound
        st[0] -= bound
        probs[i] = p - (p >> MOVE_BITS)
        bit = 1
    while st[0] < _TOP:
        st[0] = (st[0] << np.uint64(8)) & _MASK32
        st[1] = ((st[1] << np.uint64(8)) | _next_byte(st, data)) & _MASK32
    return bit


@njit(cache=True, nogil=True)
def dec_direct(st, data):
    st[0] = st[0] >> np.uint64(1)
    bit = 0
    if st[1] >= st[0]:
        st[1] -= st[0]
        bit = 1
    while st[0] < _TOP:
        st[0] = (st[0] << np.uint64(8)) & _MASK32
        st[1] = ((st[1] << np.uint64(8)) | _next_byte(st, data)) & _MASK32
    return bit
