"""Numba kernels of the streaming synthesizer (pure, preallocated state, no validation).

The state lives in a :class:`SlotState`-like bundle of arrays owned by
:class:`atomsynth.rt.synth.StreamingSynth`; the kernels here only read and write them.

Resonant atom in slot ``s``: per mode ``m`` a complex one-pole ``z = p z + x[k]`` (state kept
in float64 as two arrays ``sre``/``sim``), output ``y = sum_m w_m Im(z_m) + mix x[k]``, where
``x`` is the atom's burst (``k`` = samples since the atom's local time 0, ``t0``) and zero
after it. ``Im(sum_j x[j] p^(k-j))`` is exactly the reference renderer's convolution with
``h[n] = sum_m a_m r_m^n sin(w_m n)``.

Controls change on a fixed grid of *ticks* (``TICK`` samples, aligned to the absolute output
sample counter, so the arithmetic of every sample is independent of the block size). At each
tick the smoothed values move one step toward their targets (one-pole smoothing); gains ramp
linearly over the tick from the previous tick's value, so a gain change never clicks.

Macro indices into ``mac_cur`` / ``mac_tgt``: 0 ``log(pitch ratio)``, 1 ``log(decay ratio)``,
2 ``log(brightness ratio)``, 3 master gain (linear, including the transport gate).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TICK = 32
"""Control grid in samples (0.67 ms at 48 kHz)."""

MAC_PITCH, MAC_DECAY, MAC_BRIGHT, MAC_MASTER = 0, 1, 2, 3
N_MACROS = 4
SNAP = 1e-6
"""Smoothed values snap to their target once within this (absolute) distance."""


@njit(cache=True, nogil=True)
def _smooth(cur: float, tgt: float, alpha: float) -> float:
    new = cur + (tgt - cur) * alpha
    if abs(tgt - new) < SNAP:
        return tgt
    return new


@njit(cache=True, nogil=True)
def slot_poles(s, mac_cur, nmod, om0, lr0, w0, fc2, lg2, pre, pim, w):
    """(Re)compute the poles and output weights of slot ``s`` from the current macros."""
    pitch = math.exp(mac_cur[MAC_PITCH])
    inv_decay = math.exp(-mac_cur[MAC_DECAY])
    lb = mac_cur[MAC_BRIGHT]
    neutral_pitch = mac_cur[MAC_PITCH] == 0.0
    neutral_decay = mac_cur[MAC_DECAY] == 0.0
    neutral_bright = lb == 0.0
    # brightness beta: mode weight * exp(-0.5 (f/cutoff)^2 (beta^-2 - 1)) * beta^log2(ratio)
    c2 = math.exp(-2.0 * lb) - 1.0
    for m in range(nmod[s]):
        om = om0[s, m] if neutral_pitch else om0[s, m] * pitch
        lr = lr0[s, m] if neutral_decay else lr0[s, m] * inv_decay
        r = math.exp(lr)
        pre[s, m] = r * math.cos(om)
        pim[s, m] = r * math.sin(om)
        if om >= math.pi:
            w[s, m] = 0.0
        elif neutral_bright:
            w[s, m] = w0[s, m]
        else:
            w[s, m] = w0[s, m] * math.exp(-0.5 * fc2[s, m] * c2 + lb * lg2[s, m])


@njit(cache=True, nogil=True)
def slot_life(blen, tail, log_decay):
    """Samples an atom lasts: its burst plus its tail scaled by the decay macro."""
    if log_decay == 0.0:
        return blen + tail
    return blen + int(math.ceil(tail * math.exp(log_decay)))


@njit(cache=True, nogil=True)
def advance_state(s, nsteps, x, xoff, nmod, pre, pim, sre, sim):
    """Run slot ``s``'s modes ``nsteps`` samples on input ``x[xoff:xoff+nsteps]`` (no output)."""
    for k in range(nsteps):
        xv = x[xoff + k]
        for m in range(nmod[s]):
            a = pre[s, m] * sre[s, m] - pim[s, m] * sim[s, m] + xv
            b = pre[s, m] * sim[s, m] + pim[s, m] * sre[s, m]
            sre[s, m] = a
            sim[s, m] = b


@njit(cache=True, nogil=True, fastmath=True)
def _slot_segment(out, out0, s, a, b, tick0, t0, bpool, boff, blen, mixw, nmod, pre, pim,
                  sre, sim, w, gA, gB, room, sA, sB, nch):
    """Add slot ``s`` over absolute samples [a, b) (inside one tick starting at ``tick0``)."""
    sre_s = sre[s]
    sim_s = sim[s]
    pre_s = pre[s]
    pim_s = pim[s]
    w_s = w[s]
    nm = nmod[s]
    bl = blen[s]
    bo = boff[s]
    mx = mixw[s]
    rm = room[s]
    inv = 1.0 / TICK
    g0a = gA[s, 0]
    g0d = (gB[s, 0] - g0a) * inv
    g1a = gA[s, 1]
    g1d = (gB[s, 1] - g1a) * inv
    sa = sA[s]
    sd = (sB[s] - sa) * inv
    for n in range(a, b):
        k = n - t0
        xv = 0.0
        if k < bl:
            xv = bpool[bo + k]
        y = 0.0
        for m in range(nm):
            pr = pre_s[m]
            pi = pim_s[m]
            zr = sre_s[m]
            zi = sim_s[m]
            nr = pr * zr - pi * zi + xv
            ni = pr * zi + pi * zr
            sre_s[m] = nr
            sim_s[m] = ni
            y += w_s[m] * ni
        y += mx * xv
        j = n - tick0 + 1
        i = n - out0
        g0 = g0a + g0d * j
        out[0, 0, i] += y * g0
        if nch > 1:
            g1 = g1a + g1d * j
            out[0, 1, i] += y * g1
        if rm >= 0:
            sv = sa + sd * j
            out[rm + 1, 0, i] += y * g0 * sv
            if nch > 1:
                out[rm + 1, 1, i] += y * g1 * sv


@njit(cache=True, nogil=True)
def render_block(out, oi, out0, count, active, ictl, mac_cur, mac_tgt, mac_prev,
                 alpha, t0, life_b, tail, bpool, boff, blen, mixw, nmod, om0, lr0, w0,
                 fc2, lg2, pre, pim, sre, sim, w, gA, gB, gT, room, sA, sB, sT, kill,
                 freelist):
    """Render absolute samples [out0, out0 + count) of every active slot into ``out``.

    Parameters
    ----------
    out : float64 (1 + rooms, channels, >= oi + count)
        Prepared by the caller (zeros, plus the MDCT samples on bus 0); sample ``out0`` goes
        to index ``oi``. Bus 0 is the dry mix, bus ``r + 1`` the send to room ``r``.
    active : int64 (S,)
        Slot numbers in start order; ``ictl[0]`` of them are in use. Retired slots are removed
        in place (order kept) and pushed on ``freelist`` (``ictl[1]`` entries).
    mac_cur, mac_tgt, mac_prev : float64 (N_MACROS,), (N_MACROS,), (2 * N_MACROS,)
        Smoothed macros, their targets, and [master at the tick's start, master at its end,
        macros the poles were computed with (3)].
    """
    nch = out.shape[1]
    nbus = out.shape[0]
    end = out0 + count
    n = out0
    base = out0 - oi
    while n < end:
        tick0 = (n // TICK) * TICK
        if n == tick0:
            # advance smoothing one tick
            for q in range(3):
                mac_cur[q] = _smooth(mac_cur[q], mac_tgt[q], alpha)
            mac_prev[0] = mac_prev[1]
            mac_prev[1] = _smooth(mac_prev[1], mac_tgt[MAC_MASTER], alpha)
            mac_cur[MAC_MASTER] = mac_prev[1]
            changed = (mac_cur[0] != mac_prev[2] or mac_cur[1] != mac_prev[3]
                       or mac_cur[2] != mac_prev[4])
            for ia in range(ictl[0]):
                s = active[ia]
                if changed:
                    slot_poles(s, mac_cur, nmod, om0, lr0, w0, fc2, lg2, pre, pim, w)
                    life_b[s] = slot_life(blen[s], tail[s], mac_cur[MAC_DECAY])
                for c in range(2):
                    gA[s, c] = gB[s, c]
                    gB[s, c] = _smooth(gB[s, c], gT[s, c], alpha)
                sA[s] = sB[s]
                sB[s] = _smooth(sB[s], sT[s], alpha)
            if changed:
                mac_prev[2] = mac_cur[0]
                mac_prev[3] = mac_cur[1]
                mac_prev[4] = mac_cur[2]
        seg_end = min(end, tick0 + TICK)
        for ia in range(ictl[0]):
            s = active[ia]
            a = max(n, t0[s])
            b = min(seg_end, t0[s] + life_b[s])
            if a < b:
                _slot_segment(out, base, s, a, b, tick0, t0[s], bpool, boff, blen, mixw,
                              nmod, pre, pim, sre, sim, w, gA, gB, room, sA, sB, nch)
        # master gain ramp over the tick
        ma = mac_prev[0]
        md = (mac_prev[1] - ma) / TICK
        if not (ma == 1.0 and md == 0.0):
            for bus in range(nbus):
                for c in range(nch):
                    for t in range(n, seg_end):
                        out[bus, c, t - base] *= ma + md * (t - tick0 + 1)
        n = seg_end
    # retire: past the end of life (burst + tail scaled by the decay macro), or killed & silent
    keep = 0
    for ia in range(ictl[0]):
        s = active[ia]
        dead = end >= t0[s] + life_b[s]
        if kill[s] and gA[s, 0] == 0.0 and gB[s, 0] == 0.0 and gA[s, 1] == 0.0 \
                and gB[s, 1] == 0.0:
            dead = True
        if dead:
            freelist[ictl[1]] = s
            ictl[1] += 1
        else:
            active[keep] = s
            keep += 1
    ictl[0] = keep


@njit(cache=True, nogil=True)
def compact_arena(bpool, boff, blen, t0, slots, now):
    """Move the unplayed burst samples of ``slots`` (sorted by ``boff``) to the arena's front.

    Returns the new end of the used part. A slot whose burst is over keeps ``blen`` but its
    samples are no longer read.
    """
    cursor = 0
    for i in range(slots.shape[0]):
        s = slots[i]
        k = max(now - t0[s], 0)
        if k >= blen[s]:
            continue
        src = boff[s] + k
        rem = blen[s] - k
        if src != cursor:
            for j in range(rem):
                bpool[cursor + j] = bpool[src + j]
        boff[s] = cursor - k
        cursor += rem
    return cursor


@njit(cache=True, nogil=True)
def ring_take(ring, start, count, dst, doff):
    """Copy ring samples [start, start + count) (mod capacity) into ``dst[:, doff:]``, zero them."""
    cap = ring.shape[1]
    for c in range(ring.shape[0]):
        for i in range(count):
            j = (start + i) % cap
            dst[c, doff + i] = ring[c, j]
            ring[c, j] = 0.0


@njit(cache=True, nogil=True)
def ring_add(ring, start, src, first):
    """Add ``src[:, first:]`` into the ring at absolute positions ``start + first ..``."""
    cap = ring.shape[1]
    for c in range(src.shape[0]):
        for i in range(first, src.shape[1]):
            ring[c, (start + i) % cap] += src[c, i]


def warm_kernels() -> None:
    """Compile (or load from cache) every kernel by running it once on tiny inputs."""
    S, M = 2, 64
    f = np.zeros
    out = f((2, 2, TICK * 2))
    active = np.zeros(S, np.int64)
    ictl = np.zeros(2, np.int64)
    mac = f(N_MACROS)
    mac_t = f(N_MACROS)
    mac_t[MAC_MASTER] = 1.0
    mac_prev = f(2 * N_MACROS)
    mac_prev[0] = mac_prev[1] = 1.0
    i64 = np.zeros(S, np.int64)
    render_block(out, 0, 0, TICK + 3, active, ictl, mac, mac_t, mac_prev,
                 0.1, i64.copy(), i64.copy(), i64.copy(), f(8), i64.copy(), i64.copy(), f(S),
                 i64.copy(), f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)),
                 f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)),
                 f((S, 2)), f((S, 2)), f((S, 2)), i64.copy(), f(S), f(S), f(S),
                 np.zeros(S, np.bool_), np.zeros(S, np.int64))
    nm = np.ones(S, np.int64)
    slot_poles(0, mac, nm, f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)),
               f((S, M)), f((S, M)))
    advance_state(0, 1, f(4), 0, nm, f((S, M)), f((S, M)), f((S, M)), f((S, M)))
    compact_arena(f(8), i64.copy(), i64.copy(), i64.copy(), np.zeros(0, np.int64), 0)
    ring_take(f((2, 8)), 0, 3, f((2, 8)), 1)
    ring_add(f((2, 8)), 0, f((2, 3)), 0)
