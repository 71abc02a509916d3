"""Numba kernels of the streaming synthesizer (pure, preallocated state, no validation).

The state lives in a :class:`SlotState`-like bundle of arrays owned by
:class:`atomsynth.rt.synth.StreamingSynth`; the kernels here only read and write them.

Resonant atom in slot ``s``: per mode ``m`` a complex one-pole ``z = p z + x[k]`` (state kept
in float64 as two arrays ``sre``/``sim``), output ``y = sum_m w_m Im(z_m) + mix x[k]``, where
``x`` is the atom's burst (``k`` = samples since the atom's local time 0, ``t0``) and zero
after it. ``Im(sum_j x[j] p^(k-j))`` is exactly the reference renderer's convolution with
``h[n] = sum_m a_m r_m^n sin(w_m n)``.

Two paths per slot. The exact path (float64 state ``sre``/``sim``) runs the burst and
every sample up to the first *anchor* after it; anchors fall every :data:`ANCHOR` samples
of the atom's local time. From there the free-ringing modes run in float32 (``q32``: twice
the vector lanes), and at each anchor the float64 state advances in one step,
``z <- z p^ANCHOR`` (``pa``, from the previous anchor), and the float32 state restarts from
it: float32 rounding never accumulates over more than ``ANCHOR`` samples (output within about
1e-5 of the reference's peak). A pole change (macro, preset swap) moves the slot back to the
exact path until its next anchor. Both paths advance the modes :data:`STEP` samples per pass
over the mode arrays.

Steady bank: a free-ringing slot (float32 path) whose controls are steady (gains at their
targets, no pole change, dry only) joins one shared bank of modes at a tick start; there its
gain and pan are folded into two float32 weights per mode (left, right), and the bank renders
the modes of all its atoms in one long vectorized loop, chunk-major (``BANK_CHUNK`` modes per
chunk, so a chunk stays in L1 over a tick), re-anchored from float64 at every tick end
(``z <- z p^TICK``). There is no per-atom cost per tick. An atom leaves the bank (its exact
state goes back to the slot) when an edit moves its controls, when the poles change (pitch,
decay, brightness macros, preset swap) or near its end; its places take the bank's last
entries, so the bank stays dense.

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
from atomsynth.rt.noise import uniform_noise_into
from numba import njit

TICK = 32
"""Control grid in samples (0.67 ms at 48 kHz)."""

STEP = 4
"""Samples each pass over a slot's modes advances them (register blocking in time)."""

FLUSH = 1e-15
"""A mode whose exact state falls under this magnitude at an anchor is set to exactly zero.
Its output would be some 300 dB under full scale, and letting it decay on would reach the
subnormal range, where arithmetic is about 100 times slower (a set of short percussive atoms
rendered 10x slower before this rule). Anchors fall on absolute sample positions, so the rule
keeps the output identical for every block partition."""

ANCHOR = 128
"""Float32 path: samples between re-anchorings from the exact float64 state (counted from
each atom's start, so the same for every block partition)."""

MAC_PITCH, MAC_DECAY, MAC_BRIGHT, MAC_MASTER = 0, 1, 2, 3
N_MACROS = 4
SNAP = 1e-6
"""Smoothed values snap to their target once within this (absolute) distance."""


@njit(cache=True, nogil=True, inline="always")
def _smooth(cur: float, tgt: float, alpha: float) -> float:
    new = cur + (tgt - cur) * alpha
    if abs(tgt - new) < SNAP:
        return tgt
    return new


@njit(cache=True, nogil=True)
def slot_poles(s, mac_cur, nmod, om0, lr0, w0, fc2, lg2, pre, pim, w, q32, pa):
    """(Re)compute the poles and output weights of slot ``s`` from the current macros, their
    float32 copies (``q32[s, 0:3]``) and ``p^ANCHOR`` (``pa[s]``, float64).

    Weights (:mod:`atomsynth.rt.macros`): brightness ``beta`` moves the Gaussian cutoff,
    ``w_m = w0_m exp(-0.5 (f_m / cutoff_hz)^2 (beta^-2 - 1))``; modes pitched to or above
    Nyquist are dropped; then the weights are renormalized to the base weights' energy, as
    the reference's :func:`~atomsynth.rt.burst.resonance_norm` does for the changed atom
    (at neutral brightness with every mode under Nyquist the weights are ``w0`` exactly).
    """
    pitch = math.exp(mac_cur[MAC_PITCH])
    inv_decay = math.exp(-mac_cur[MAC_DECAY])
    lb = mac_cur[MAC_BRIGHT]
    neutral_pitch = mac_cur[MAC_PITCH] == 0.0
    neutral_decay = mac_cur[MAC_DECAY] == 0.0
    neutral_bright = lb == 0.0
    c2 = math.exp(-2.0 * lb) - 1.0
    e0 = 0.0
    e1 = 0.0
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
            w[s, m] = w0[s, m] * math.exp(-0.5 * fc2[s, m] * c2)
        e0 += w0[s, m] * w0[s, m]
        e1 += w[s, m] * w[s, m]
        q32[s, 0, m] = pre[s, m]
        q32[s, 1, m] = pim[s, m]
        q32[s, 2, m] = w[s, m]
        ra = math.exp(lr * ANCHOR)
        pa[s, 0, m] = ra * math.cos(om * ANCHOR)
        pa[s, 1, m] = ra * math.sin(om * ANCHOR)
    if e1 != e0 and e1 > 0.0:
        scale = math.sqrt(e0 / e1)
        for m in range(nmod[s]):
            w[s, m] = w[s, m] * scale
            q32[s, 2, m] = w[s, m]


@njit(cache=True, nogil=True)
def slot_life(blen, tail, log_decay):
    """Samples an atom lasts: its burst plus its tail scaled by the decay macro."""
    if log_decay == 0.0:
        return blen + tail
    return blen + int(math.ceil(tail * math.exp(log_decay)))


@njit(cache=True, nogil=True)
def start_slots(slots, t0s, blens, tails, now, mac_cur, nmod, om0, lr0, w0, fc2, lg2, pre, pim,
                w, q32, pa, sre, sim, t0, blen, tail, life, on32, anc, inb):
    """Initialize the slots of atoms starting at output samples ``t0s`` (their base modes are
    in place): times, life, zero state on the exact path, first anchor, poles."""
    for j in range(slots.shape[0]):
        s = slots[j]
        t = t0s[j]
        d = max(0, now - t)
        t0[s] = t
        blen[s] = blens[j]
        tail[s] = tails[j]
        life[s] = slot_life(blens[j], tails[j], mac_cur[MAC_DECAY])
        for m in range(sre.shape[1]):
            sre[s, m] = 0.0
            sim[s, m] = 0.0
        on32[s] = False
        anc[s] = t + ANCHOR * -(-d // ANCHOR)
        inb[s] = -1
        slot_poles(s, mac_cur, nmod, om0, lr0, w0, fc2, lg2, pre, pim, w, q32, pa)


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


@njit(cache=True, nogil=True, inline="always")
def _mix_out(out, ybuf, i0, j0, cnt, g0a, g0d, g1a, g1d, sa, sd, rm, nch):
    """Add ``ybuf[:cnt]`` (a slot's samples) at output index ``i0`` (tick offset ``j0`` of the
    first) to the dry bus and the room send, with the gain ramps of the tick."""
    for q in range(cnt):
        out[0, 0, i0 + q] += ybuf[q] * (g0a + g0d * (j0 + q))
    if nch > 1:
        for q in range(cnt):
            out[0, 1, i0 + q] += ybuf[q] * (g1a + g1d * (j0 + q))
    if rm >= 0:
        for q in range(cnt):
            j = j0 + q
            out[rm + 1, 0, i0 + q] += ybuf[q] * (g0a + g0d * j) * (sa + sd * j)
        if nch > 1:
            for q in range(cnt):
                j = j0 + q
                out[rm + 1, 1, i0 + q] += ybuf[q] * (g1a + g1d * j) * (sa + sd * j)


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _seg64(s, a, b, t0, bpool, bo, bl, mx, nm, pre, pim, sre, sim, w, ybuf, q0):
    """Exact path: slot ``s``'s float64 modes over absolute samples [a, b), with its burst;
    samples go to ``ybuf[q0:]``.

    The modes advance :data:`STEP` samples per pass over the mode arrays (state and
    coefficients are loaded once per pass, the loop over modes vectorizes), then single
    samples for the rest. ``a`` and ``b`` never depend on the caller's block size (the
    synthesizer renders whole ticks, see :class:`~atomsynth.rt.synth.StreamingSynth`), so
    neither does the arithmetic.
    """
    n = a
    while n + STEP <= b:
        k = n - t0
        x0 = bpool[bo + k] if k < bl else 0.0
        x1 = bpool[bo + k + 1] if k + 1 < bl else 0.0
        x2 = bpool[bo + k + 2] if k + 2 < bl else 0.0
        x3 = bpool[bo + k + 3] if k + 3 < bl else 0.0
        y0 = 0.0
        y1 = 0.0
        y2 = 0.0
        y3 = 0.0
        for m in range(nm):
            pr = pre[s, m]
            pi = pim[s, m]
            wm = w[s, m]
            zr = sre[s, m]
            zi = sim[s, m]
            t = pr * zr - pi * zi + x0
            zi = pr * zi + pi * zr
            zr = t
            y0 += wm * zi
            t = pr * zr - pi * zi + x1
            zi = pr * zi + pi * zr
            zr = t
            y1 += wm * zi
            t = pr * zr - pi * zi + x2
            zi = pr * zi + pi * zr
            zr = t
            y2 += wm * zi
            t = pr * zr - pi * zi + x3
            zi = pr * zi + pi * zr
            zr = t
            y3 += wm * zi
            sre[s, m] = zr
            sim[s, m] = zi
        q = q0 + n - a
        ybuf[q] = y0 + mx * x0
        ybuf[q + 1] = y1 + mx * x1
        ybuf[q + 2] = y2 + mx * x2
        ybuf[q + 3] = y3 + mx * x3
        n += STEP
    while n < b:
        k = n - t0
        xv = bpool[bo + k] if k < bl else 0.0
        y = 0.0
        for m in range(nm):
            pr = pre[s, m]
            pi = pim[s, m]
            zr = sre[s, m]
            zi = sim[s, m]
            nr = pr * zr - pi * zi + xv
            ni = pr * zi + pi * zr
            sre[s, m] = nr
            sim[s, m] = ni
            y += w[s, m] * ni
        ybuf[q0 + n - a] = y + mx * xv
        n += 1


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _seg32(s, a, b, nm, q32, ybuf, q0):
    """Fast path: slot ``s``'s free-ringing modes in float32 over [a, b) (no burst left),
    samples to ``ybuf[q0:]``. Same blocking as :func:`_seg64`, twice the vector lanes."""
    n = a
    while n + STEP <= b:
        y0 = np.float32(0.0)
        y1 = np.float32(0.0)
        y2 = np.float32(0.0)
        y3 = np.float32(0.0)
        for m in range(nm):
            pr = q32[s, 0, m]
            pi = q32[s, 1, m]
            wm = q32[s, 2, m]
            zr = q32[s, 3, m]
            zi = q32[s, 4, m]
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
            y0 += wm * zi
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
            y1 += wm * zi
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
            y2 += wm * zi
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
            y3 += wm * zi
            q32[s, 3, m] = zr
            q32[s, 4, m] = zi
        q = q0 + n - a
        ybuf[q] = y0
        ybuf[q + 1] = y1
        ybuf[q + 2] = y2
        ybuf[q + 3] = y3
        n += STEP
    while n < b:
        y = np.float32(0.0)
        for m in range(nm):
            pr = q32[s, 0, m]
            pi = q32[s, 1, m]
            zr = q32[s, 3, m]
            zi = q32[s, 4, m]
            nr = pr * zr - pi * zi
            ni = pr * zi + pi * zr
            q32[s, 3, m] = nr
            q32[s, 4, m] = ni
            y += q32[s, 2, m] * ni
        ybuf[q0 + n - a] = y
        n += 1


@njit(cache=True, nogil=True, inline="always")
def _anchor(s, n, t0, bl, nm, sre, sim, q32, pa, anc, on32):
    """Anchor event of slot ``s`` at absolute sample ``n`` (``n == anc[s]``).

    On the float32 path: the exact float64 state moves ``ANCHOR`` samples in one step
    (``z <- z p^ANCHOR``, from the previous anchor) and the float32 state restarts from it,
    so float32 rounding never accumulates over more than ``ANCHOR`` samples. On the exact
    path: once the burst is over the slot switches to float32.
    """
    if on32[s]:
        for m in range(nm):
            zr = sre[s, m]
            zi = sim[s, m]
            ar = pa[s, 0, m]
            ai = pa[s, 1, m]
            nr = zr * ar - zi * ai
            ni = zr * ai + zi * ar
            if abs(nr) + abs(ni) < FLUSH:  # decayed past hearing: exact zero, no subnormals
                nr = 0.0
                ni = 0.0
            sre[s, m] = nr
            sim[s, m] = ni
    elif n - t0 >= bl:
        on32[s] = True
    if on32[s]:
        for m in range(nm):
            q32[s, 3, m] = sre[s, m]
            q32[s, 4, m] = sim[s, m]
    anc[s] = n + ANCHOR


@njit(cache=True, nogil=True)
def slot_to_f64(s, nmod, sre, sim, q32, on32):
    """Move slot ``s`` to the exact path: its float64 state takes the float32 state's value
    (before its poles change; the next anchor moves it back to float32)."""
    if on32[s]:
        for m in range(nmod[s]):
            sre[s, m] = q32[s, 3, m]
            sim[s, m] = q32[s, 4, m]
        on32[s] = False


BANK_CHUNK = 256
"""Steady-mode bank: modes per chunk; a chunk's state stays in L1 over a whole tick."""

BANK_ROWS32, BANK_ROWS64 = 6, 4
"""Bank rows: float32 ``pr, pi, zr, zi, w_left, w_right`` (weights include the atom's gain
and pan); float64 ``zr, zi`` (exact state at the last anchor) and ``p^ANCHOR`` (re, im)."""


@njit(cache=True, nogil=True)
def _bank_enter(s, n, nm, q32, pre, pim, sre, sim, anc, w, gB, bf, bd, bsl, bctl, inb, bix):
    """Append slot ``s``'s modes to the steady bank at tick start ``n`` (float32 path, burst
    over): the exact state at ``n`` comes from the slot's last own anchor (``anc[s] -
    ANCHOR``, at most a tick earlier) in float64 steps, the float32 state restarts from it."""
    j0 = bctl[0]
    g0 = gB[s, 0]
    g1 = gB[s, 1]
    d = n - (anc[s] - ANCHOR)
    for m in range(nm):
        j = j0 + m
        c = j // BANK_CHUNK
        i = j % BANK_CHUNK
        pr = pre[s, m]
        pi = pim[s, m]
        zr = sre[s, m]
        zi = sim[s, m]
        for _ in range(d):
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
        # p^TICK by squaring (TICK = 2^5)
        ar = pr
        ai = pi
        for _ in range(5):
            t = ar * ar - ai * ai
            ai = 2.0 * ar * ai
            ar = t
        bf[c, 0, i] = q32[s, 0, m]
        bf[c, 1, i] = q32[s, 1, m]
        bf[c, 2, i] = zr
        bf[c, 3, i] = zi
        bf[c, 4, i] = w[s, m] * g0
        bf[c, 5, i] = w[s, m] * g1
        bd[c, 0, i] = zr
        bd[c, 1, i] = zi
        bd[c, 2, i] = ar
        bd[c, 3, i] = ai
        bsl[0, j] = s
        bsl[1, j] = m
        bix[s, m] = j
    inb[s] = 1
    bctl[0] = j0 + nm


@njit(cache=True, nogil=True)
def bank_leave(s, n, t0, nmod, pre, pim, sre, sim, anc, on32, bf, bd, bsl, bctl, inb, bix):
    """Take slot ``s``'s modes out of the steady bank at sample ``n``: its exact float64
    state at ``n`` (from the bank's last anchor ``bctl[2]``, in float64 steps) goes back to
    the slot, which runs the exact path up to its own next anchor (then float32 again). The
    bank's last entries move into the freed places, so it stays dense."""
    d = n - bctl[2]
    for m in range(nmod[s]):
        j = bix[s, m]
        c = j // BANK_CHUNK
        i = j % BANK_CHUNK
        pr = pre[s, m]
        pi = pim[s, m]
        zr = bd[c, 0, i]
        zi = bd[c, 1, i]
        for _ in range(d):
            t = pr * zr - pi * zi
            zi = pr * zi + pi * zr
            zr = t
        sre[s, m] = zr
        sim[s, m] = zi
        last = bctl[0] - 1
        cl = last // BANK_CHUNK
        il = last % BANK_CHUNK
        if j != last:
            for r in range(BANK_ROWS32):
                bf[c, r, i] = bf[cl, r, il]
            for r in range(BANK_ROWS64):
                bd[c, r, i] = bd[cl, r, il]
            so = bsl[0, last]
            mo = bsl[1, last]
            bsl[0, j] = so
            bsl[1, j] = mo
            bix[so, mo] = j
        for r in range(BANK_ROWS32):
            bf[cl, r, il] = 0.0
        for r in range(BANK_ROWS64):
            bd[cl, r, il] = 0.0
        bsl[0, last] = -1
        bctl[0] = last
    inb[s] = -1
    on32[s] = False
    anc[s] = t0[s] + ANCHOR * -(-(n - t0[s]) // ANCHOR)


@njit(cache=True, nogil=True, fastmath=True)
def _bank_render(a, b, base, bf, bd, bctl, out, nch):
    """Steady bank over absolute samples [a, b): one long loop over all its modes, chunk by
    chunk (:data:`BANK_CHUNK` modes, state in L1 over the range), :data:`STEP` samples per
    pass. (Chunks are the first axis and the mode loop starts at 0: that is what lets LLVM
    vectorize it.)

    When ``b`` ends a tick, each chunk is then re-anchored while in cache: its float64 state
    advances by ``p^TICK`` and the float32 state restarts from it (``bctl[2] = b``)."""
    cnt = bctl[0]
    anchor = b % TICK == 0
    o0 = out[0, 0]
    o1 = out[0, 1] if nch > 1 else out[0, 0]
    for c in range((cnt + BANK_CHUNK - 1) // BANK_CHUNK):
        nm = min(BANK_CHUNK, cnt - c * BANK_CHUNK)
        n = a
        while n + STEP <= b:
            l0 = np.float32(0.0)
            l1 = np.float32(0.0)
            l2 = np.float32(0.0)
            l3 = np.float32(0.0)
            r0 = np.float32(0.0)
            r1 = np.float32(0.0)
            r2 = np.float32(0.0)
            r3 = np.float32(0.0)
            for m in range(nm):
                pr = bf[c, 0, m]
                pi = bf[c, 1, m]
                zr = bf[c, 2, m]
                zi = bf[c, 3, m]
                wl = bf[c, 4, m]
                wr = bf[c, 5, m]
                t = pr * zr - pi * zi
                zi = pr * zi + pi * zr
                zr = t
                l0 += wl * zi
                r0 += wr * zi
                t = pr * zr - pi * zi
                zi = pr * zi + pi * zr
                zr = t
                l1 += wl * zi
                r1 += wr * zi
                t = pr * zr - pi * zi
                zi = pr * zi + pi * zr
                zr = t
                l2 += wl * zi
                r2 += wr * zi
                t = pr * zr - pi * zi
                zi = pr * zi + pi * zr
                zr = t
                l3 += wl * zi
                r3 += wr * zi
                bf[c, 2, m] = zr
                bf[c, 3, m] = zi
            i = n - base
            o0[i] += l0
            o0[i + 1] += l1
            o0[i + 2] += l2
            o0[i + 3] += l3
            if nch > 1:
                o1[i] += r0
                o1[i + 1] += r1
                o1[i + 2] += r2
                o1[i + 3] += r3
            n += STEP
        while n < b:
            l0 = np.float32(0.0)
            r0 = np.float32(0.0)
            for m in range(nm):
                pr = bf[c, 0, m]
                pi = bf[c, 1, m]
                zr = bf[c, 2, m]
                zi = bf[c, 3, m]
                t = pr * zr - pi * zi
                zi = pr * zi + pi * zr
                bf[c, 2, m] = t
                bf[c, 3, m] = zi
                l0 += bf[c, 4, m] * zi
                r0 += bf[c, 5, m] * zi
            i = n - base
            o0[i] += l0
            if nch > 1:
                o1[i] += r0
            n += 1
        if anchor:
            for m in range(nm):
                zr = bd[c, 0, m]
                zi = bd[c, 1, m]
                ar = bd[c, 2, m]
                ai = bd[c, 3, m]
                nr = zr * ar - zi * ai
                ni = zr * ai + zi * ar
                if abs(nr) + abs(ni) < FLUSH:  # decayed past hearing: exact zero
                    nr = 0.0
                    ni = 0.0
                bd[c, 0, m] = nr
                bd[c, 1, m] = ni
                bf[c, 2, m] = nr
                bf[c, 3, m] = ni
    if anchor:
        bctl[2] = b


@njit(cache=True, nogil=True, fastmath=True)
def render_block(out, oi, out0, count, active, ictl, mac_cur, mac_tgt, mac_prev,
                 alpha, t0, life_b, tail, bpool, boff, blen, mixw, nmod, om0, lr0, w0,
                 fc2, lg2, pre, pim, sre, sim, w, gA, gB, gT, room, sA, sB, sT, kill,
                 freelist, ybuf, q32, pa, anc, on32, use32, mhist, bf, bd, bsl, bctl, inb,
                 bix):
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
    ybuf : float64 (TICK,)
        Scratch for one slot's samples of one tick.
    q32, pa, anc, on32 : float32 (S, 5, M), float64 (S, 2, M), int64 (S,), bool (S,)
        Float32 path: poles, weights and state; ``p^ANCHOR``; next anchor sample (a multiple
        of ``ANCHOR``); path flag.
    use32 : bool
        Use the float32 path for free-ringing modes (else float64 throughout, no bank).
    mhist : float64 (>= count // TICK + 2, 6)
        Scratch: the controls of each tick of the call.
    bf, bd, bsl, bctl, inb, bix : float32 (C, 6, BANK_CHUNK), float64 (C, 4, BANK_CHUNK),
            int64 (2, B), int64 (3,), int64 (S,), int64 (S, M)
        Steady bank (entry ``j`` at ``[j // BANK_CHUNK, :, j % BANK_CHUNK]``): float32 rows,
        float64 rows, slot and mode of each entry, [entries used, unused, last anchor sample
        (a tick end)], whether each slot is in the bank (>= 0), bank entry of each slot's
        modes. ``B = C * BANK_CHUNK`` >= ``bctl[0]`` + the modes of every active slot.

    Notes
    -----
    Ticks are rendered in order. At a tick start, slots leave the bank when their controls
    moved (edits arrive between calls, so they are checked at a call's first tick), when the
    poles change, or (checked every ``ANCHOR`` samples) when their end is near (the bank's
    last entries move into their places). Then every slot outside
    the bank renders the tick (a free-ringing slot with steady controls joins the bank
    instead), then the bank, which re-anchors at the tick's end. Every decision depends only
    on absolute sample positions, never on the block size, and translating a score by whole
    ticks (a loop of whole ticks) gives the same arithmetic.
    """
    nch = out.shape[1]
    nbus = out.shape[0]
    end = out0 + count
    base = out0 - oi
    first = (out0 // TICK) * TICK
    # 1. controls of every tick: macros smoothed (mhist[k, :3], whether the poles change in
    #    mhist[k, 5]) and the master gain's ramp (start, step in mhist[k, 3:5])
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        mhist[k, 5] = 0.0
        if n == tick0:
            for q in range(3):
                mac_cur[q] = _smooth(mac_cur[q], mac_tgt[q], alpha)
            mac_prev[0] = mac_prev[1]
            mac_prev[1] = _smooth(mac_prev[1], mac_tgt[MAC_MASTER], alpha)
            mac_cur[MAC_MASTER] = mac_prev[1]
            if (mac_cur[0] != mac_prev[2] or mac_cur[1] != mac_prev[3]
                    or mac_cur[2] != mac_prev[4]):
                mhist[k, 5] = 1.0
                mac_prev[2] = mac_cur[0]
                mac_prev[3] = mac_cur[1]
                mac_prev[4] = mac_cur[2]
        for q in range(3):
            mhist[k, q] = mac_cur[q]
        mhist[k, 3] = mac_prev[0]
        mhist[k, 4] = (mac_prev[1] - mac_prev[0]) / TICK
        n = min(end, tick0 + TICK)
    # 2. tick by tick: bank upkeep, slots outside the bank, then the bank
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        seg_end = min(end, tick0 + TICK)
        at_anchor = use32 and n == tick0 and tick0 % ANCHOR == 0
        if n == tick0:
            pole = mhist[k, 5] != 0.0
            if bctl[0] > 0 and (pole or at_anchor or n == out0):
                for ia in range(ictl[0]):
                    s = active[ia]
                    if inb[s] < 0:
                        continue
                    go = pole or kill[s] or room[s] >= 0
                    if n == out0:  # edits arrive between calls
                        go = go or gB[s, 0] != gT[s, 0] or gB[s, 1] != gT[s, 1] \
                            or gA[s, 0] != gB[s, 0] or gA[s, 1] != gB[s, 1]
                    if at_anchor and t0[s] + life_b[s] <= tick0 + ANCHOR:
                        go = True
                    if go:
                        bank_leave(s, tick0, t0, nmod, pre, pim, sre, sim, anc, on32, bf, bd,
                                   bsl, bctl, inb, bix)
        for ia in range(ictl[0]):
            s = active[ia]
            if inb[s] >= 0:
                continue
            if n == tick0:  # the slot's controls move one tick
                if mhist[k, 5] != 0.0:
                    slot_to_f64(s, nmod, sre, sim, q32, on32)
                    slot_poles(s, mhist[k], nmod, om0, lr0, w0, fc2, lg2, pre, pim, w, q32, pa)
                    life_b[s] = slot_life(blen[s], tail[s], mhist[k, MAC_DECAY])
                for c in range(2):
                    gA[s, c] = gB[s, c]
                    gB[s, c] = _smooth(gB[s, c], gT[s, c], alpha)
                sA[s] = sB[s]
                sB[s] = _smooth(sB[s], sT[s], alpha)
                # free-ringing with steady controls: join the bank at this anchor
                if (use32 and on32[s] and nmod[s] > 0 and mhist[k, 5] == 0.0
                        and tick0 - (anc[s] - ANCHOR) <= TICK
                        and room[s] < 0 and not kill[s]
                        and t0[s] + life_b[s] > tick0 + 2 * ANCHOR
                        and gA[s, 0] == gT[s, 0] and gA[s, 1] == gT[s, 1]
                        and gB[s, 0] == gT[s, 0] and gB[s, 1] == gT[s, 1]):
                    _bank_enter(s, tick0, nmod[s], q32, pre, pim, sre, sim, anc, w, gB, bf, bd,
                                bsl, bctl, inb, bix)
                    continue
            a = max(n, t0[s])
            b = min(seg_end, t0[s] + life_b[s])
            if a < b:
                ts = t0[s]
                nm = nmod[s]
                bl = blen[s]
                p = a
                while p < b:
                    if use32 and p == anc[s]:
                        _anchor(s, p, ts, bl, nm, sre, sim, q32, pa, anc, on32)
                    e = min(b, anc[s]) if use32 else b
                    if on32[s]:
                        _seg32(s, p, e, nm, q32, ybuf, p - a)
                    else:
                        _seg64(s, p, e, ts, bpool, boff[s], bl, mixw[s], nm, pre, pim, sre,
                               sim, w, ybuf, p - a)
                    p = e
                inv = 1.0 / TICK
                g0a = gA[s, 0]
                g1a = gA[s, 1]
                sa = sA[s]
                _mix_out(out, ybuf, a - base, a - tick0 + 1, b - a, g0a,
                         (gB[s, 0] - g0a) * inv, g1a, (gB[s, 1] - g1a) * inv, sa,
                         (sB[s] - sa) * inv, room[s], nch)
        if bctl[0] > 0:
            _bank_render(n, seg_end, base, bf, bd, bctl, out, nch)
        elif seg_end % TICK == 0:
            bctl[2] = seg_end
        n = seg_end
    # 3. master gain ramp of every tick
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        seg_end = min(end, tick0 + TICK)
        ma = mhist[k, 3]
        md = mhist[k, 4]
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
            if inb[s] >= 0:
                bank_leave(s, end, t0, nmod, pre, pim, sre, sim, anc, on32, bf, bd, bsl, bctl,
                           inb, bix)
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


def _bank_scratch() -> tuple:
    """An empty one-chunk bank: ``bf, bd, bsl, bctl``."""
    return (np.zeros((1, BANK_ROWS32, BANK_CHUNK), np.float32),
            np.zeros((1, BANK_ROWS64, BANK_CHUNK)), np.full((2, BANK_CHUNK), -1, np.int64),
            np.zeros(3, np.int64))


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
                 np.zeros(S, np.bool_), np.zeros(S, np.int64), f(TICK),
                 np.zeros((S, 5, M), np.float32), f((S, 2, M)), i64.copy(),
                 np.zeros(S, np.bool_), True, f((8, 6)), *_bank_scratch(),
                 np.full(S, -1, np.int64), np.zeros((S, M), np.int64))
    bank_leave(0, 0, i64.copy(), np.zeros(S, np.int64), f((S, M)), f((S, M)), f((S, M)),
               f((S, M)), i64.copy(), np.zeros(S, np.bool_), *_bank_scratch(),
               np.zeros(S, np.int64), np.zeros((S, M), np.int64))
    nm = np.ones(S, np.int64)
    slot_poles(0, mac, nm, f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)),
               f((S, M)), f((S, M)), np.zeros((S, 5, M), np.float32), f((S, 2, M)))
    slot_to_f64(0, nm, f((S, M)), f((S, M)), np.zeros((S, 5, M), np.float32),
                np.ones(S, np.bool_))
    advance_state(0, 1, f(4), 0, nm, f((S, M)), f((S, M)), f((S, M)), f((S, M)))
    start_slots(np.zeros(1, np.int64), i64[:1].copy(), nm[:1].copy(), i64[:1].copy(), 0, mac, nm,
                f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)), f((S, M)),
                f((S, M)), np.zeros((S, 5, M), np.float32), f((S, 2, M)), f((S, M)), f((S, M)),
                i64.copy(), i64.copy(), i64.copy(), i64.copy(), np.zeros(S, np.bool_),
                i64.copy(), i64.copy())
    compact_arena(f(8), i64.copy(), i64.copy(), i64.copy(), np.zeros(0, np.int64), 0)
    ring_take(f((2, 8)), 0, 3, f((2, 8)), 1)
    ring_add(f((2, 8)), 0, f((2, 3)), 0)
    uniform_noise_into(0, 0, f((2, 8))[0])  # batched bursts (rt.burst.bursts)
