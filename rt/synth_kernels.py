"""Numba kernels of the streaming synthesizer (pure, preallocated state, no validation).

The state lives in the typed records of :mod:`atomsynth.rt.synth_state` (:class:`SlotState`,
:class:`SlotList`, :class:`BankState`, :class:`Controls`, :class:`Scratch`), owned by the parts
of :class:`atomsynth.rt.synth.StreamingSynth`; the kernels here only read and write them.

Resonant atom in slot ``s``: per mode ``m`` a complex one-pole ``z = p z + x[k]`` (state kept
in float64 as ``state_re``/``state_im``), output ``y = sum_m w_m Im(z_m) + mix x[k]``, where
``x`` is the atom's burst (``k`` = samples since the atom's local time 0, ``t0``) and zero
after it. ``Im(sum_j x[j] p^(k-j))`` is exactly the reference renderer's convolution with
``h[n] = sum_m a_m r_m^n sin(w_m n)``.

Two paths per slot. The exact path (float64 state ``sre``/``sim``) runs the burst and
every sample up to the first *anchor* after it; anchors fall every :data:`ANCHOR` samples
of the atom's local time. From there the free-ringing modes run in float32 (``fast``: twice
the vector lanes), and at each anchor the float64 state advances in one step,
``z <- z p^ANCHOR`` (``pole_pow_anchor``, from the previous anchor), and the float32 state
restarts from it: float32 rounding never accumulates over more than ``ANCHOR`` samples (output
within about 1e-5 of the reference's peak). A pole change (macro, preset swap) moves the slot
back to the exact path until its next anchor. Both paths advance the modes :data:`STEP` samples
per pass over the mode arrays.

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

Macros are indexed by ``MAC_PITCH``, ``MAC_DECAY``, ``MAC_BRIGHT`` (logs of the ratios) and
``MAC_MASTER`` (linear gain, transport gate included); see :class:`Controls`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from atomsynth.rt.noise import uniform_noise_into
from atomsynth.rt.synth_state import (
    ANCHOR,
    BANK_CHUNK,
    BANK_ROWS32,
    BANK_ROWS64,
    F32_POLE_IM,
    F32_POLE_RE,
    F32_STATE_IM,
    F32_STATE_RE,
    F32_WEIGHT,
    MAC_BRIGHT,
    MAC_DECAY,
    MAC_MASTER,
    MAC_PITCH,
    N_MACROS,
    N_POLE_MACROS,
    TICK,
    BankState,
    Controls,
    Scratch,
    SlotList,
    SlotState,
    new_bank_state,
    new_controls,
    new_scratch,
    new_slot_list,
    new_slot_state,
)

__all__ = ["ANCHOR", "BANK_CHUNK", "MAC_BRIGHT", "MAC_DECAY", "MAC_MASTER", "MAC_PITCH",
           "N_MACROS", "TICK", "advance_state", "bank_evict", "bank_leave", "compact_arena",
           "render_block", "render_flat", "retune_slots", "ring_add", "ring_take", "slot_poles",
           "slot_to_f64", "start_slots", "start_slots_flat", "warm_kernels"]

STEP = 4
"""Samples each pass over a slot's modes advances them (register blocking in time)."""

FLUSH = 1e-15
"""A mode whose exact state falls under this magnitude at an anchor is set to exactly zero.
Its output would be some 300 dB under full scale, and letting it decay on would reach the
subnormal range, where arithmetic is about 100 times slower (a set of short percussive atoms
rendered 10x slower before this rule). Anchors fall on absolute sample positions, so the rule
keeps the output identical for every block partition."""

SNAP = 1e-6
"""Smoothed values snap to their target once within this (absolute) distance."""


@njit(cache=True, nogil=True, inline="always")
def _smooth(cur: float, tgt: float, alpha: float) -> float:
    new = cur + (tgt - cur) * alpha
    if abs(tgt - new) < SNAP:
        return tgt
    return new


@njit(cache=True, nogil=True)
def slot_poles(st, s, macros):
    """(Re)compute the poles and output weights of slot ``s`` of :class:`SlotState` ``st``
    from the macros ``macros`` (indices ``MAC_*``), their float32 copies and ``p^ANCHOR``.

    Weights (:mod:`atomsynth.rt.macros`): brightness ``beta`` moves the Gaussian cutoff,
    ``w_m = w0_m exp(-0.5 (f_m / cutoff_hz)^2 (beta^-2 - 1))``; modes pitched to or above
    Nyquist are dropped; then the weights are renormalized to the base weights' energy, as
    the reference's :func:`~atomsynth.rt.burst.resonance_norm` does for the changed atom
    (at neutral brightness with every mode under Nyquist the weights are ``w0`` exactly).
    """
    pitch = math.exp(macros[MAC_PITCH])
    inv_decay = math.exp(-macros[MAC_DECAY])
    lb = macros[MAC_BRIGHT]
    neutral_pitch = macros[MAC_PITCH] == 0.0
    neutral_decay = macros[MAC_DECAY] == 0.0
    neutral_bright = lb == 0.0
    c2 = math.exp(-2.0 * lb) - 1.0
    om0 = st.omega0
    lr0 = st.log_radius0
    w0 = st.weight0
    pre = st.pole_re
    pim = st.pole_im
    w = st.weight
    q32 = st.fast
    pa = st.pole_pow_anchor
    fc2 = st.cutoff_ratio2
    nm = st.n_modes[s]
    e0 = 0.0
    e1 = 0.0
    for m in range(nm):
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
        q32[s, F32_POLE_RE, m] = pre[s, m]
        q32[s, F32_POLE_IM, m] = pim[s, m]
        q32[s, F32_WEIGHT, m] = w[s, m]
        ra = math.exp(lr * ANCHOR)
        pa[s, 0, m] = ra * math.cos(om * ANCHOR)
        pa[s, 1, m] = ra * math.sin(om * ANCHOR)
    if e1 != e0 and e1 > 0.0:
        scale = math.sqrt(e0 / e1)
        for m in range(nm):
            w[s, m] = w[s, m] * scale
            q32[s, F32_WEIGHT, m] = w[s, m]


@njit(cache=True, nogil=True)
def slot_life(blen, tail, log_decay):
    """Samples an atom lasts: its burst plus its tail scaled by the decay macro."""
    if log_decay == 0.0:
        return blen + tail
    return blen + int(math.ceil(tail * math.exp(log_decay)))


@njit(cache=True, nogil=True)
def start_slots(st, slots, starts, burst_lens, tails, now, macros):
    """Initialize ``slots`` for atoms starting at output samples ``starts`` (their base modes
    are in place): times, life, zero state on the exact path, first anchor, poles."""
    for j in range(slots.shape[0]):
        s = slots[j]
        t = starts[j]
        d = max(0, now - t)
        st.start[s] = t
        st.burst_len[s] = burst_lens[j]
        st.tail[s] = tails[j]
        st.life[s] = slot_life(burst_lens[j], tails[j], macros[MAC_DECAY])
        for m in range(st.state_re.shape[1]):
            st.state_re[s, m] = 0.0
            st.state_im[s, m] = 0.0
        st.on_float32[s] = False
        st.next_anchor[s] = t + ANCHOR * -(-d // ANCHOR)
        st.in_bank[s] = False
        slot_poles(st, s, macros)


@njit(cache=True, nogil=True)
def advance_state(st, s, nsteps, x, xoff):
    """Run slot ``s``'s modes ``nsteps`` samples on input ``x[xoff:xoff+nsteps]`` (no output)."""
    pre = st.pole_re
    pim = st.pole_im
    sre = st.state_re
    sim = st.state_im
    nm = st.n_modes[s]
    for k in range(nsteps):
        xv = x[xoff + k]
        for m in range(nm):
            a = pre[s, m] * sre[s, m] - pim[s, m] * sim[s, m] + xv
            b = pre[s, m] * sim[s, m] + pim[s, m] * sre[s, m]
            sre[s, m] = a
            sim[s, m] = b


@njit(cache=True, nogil=True, inline="always")
def _mix_out(out, samples, i0, j0, cnt, g0a, g0d, g1a, g1d, sa, sd, room, n_channels):
    """Add ``samples[:cnt]`` (a slot's samples) at output index ``i0`` (tick offset ``j0`` of the
    first) to the dry bus and the room send, with the gain ramps of the tick."""
    for q in range(cnt):
        out[0, 0, i0 + q] += samples[q] * (g0a + g0d * (j0 + q))
    if n_channels > 1:
        for q in range(cnt):
            out[0, 1, i0 + q] += samples[q] * (g1a + g1d * (j0 + q))
    if room >= 0:
        for q in range(cnt):
            j = j0 + q
            out[room + 1, 0, i0 + q] += samples[q] * (g0a + g0d * j) * (sa + sd * j)
        if n_channels > 1:
            for q in range(cnt):
                j = j0 + q
                out[room + 1, 1, i0 + q] += samples[q] * (g1a + g1d * j) * (sa + sd * j)


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _seg64(s, a, b, t0, arena, burst_offset, burst_len, dry_mix, n_modes, pole_re, pole_im,
           state_re, state_im, weight, samples, first):
    """Exact path: slot ``s``'s float64 modes over absolute samples [a, b), with its burst;
    samples go to ``samples[first:]``.

    The modes advance :data:`STEP` samples per pass over the mode arrays (state and
    coefficients are loaded once per pass, the loop over modes vectorizes), then single
    samples for the rest. ``a`` and ``b`` never depend on the caller's block size (the
    synthesizer renders whole ticks, see :class:`~atomsynth.rt.synth.StreamingSynth`), so
    neither does the arithmetic.
    """
    n = a
    while n + STEP <= b:
        k = n - t0
        x0 = arena[burst_offset + k] if k < burst_len else 0.0
        x1 = arena[burst_offset + k + 1] if k + 1 < burst_len else 0.0
        x2 = arena[burst_offset + k + 2] if k + 2 < burst_len else 0.0
        x3 = arena[burst_offset + k + 3] if k + 3 < burst_len else 0.0
        y0 = 0.0
        y1 = 0.0
        y2 = 0.0
        y3 = 0.0
        for m in range(n_modes):
            pr = pole_re[s, m]
            pi = pole_im[s, m]
            wm = weight[s, m]
            zr = state_re[s, m]
            zi = state_im[s, m]
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
            state_re[s, m] = zr
            state_im[s, m] = zi
        q = first + n - a
        samples[q] = y0 + dry_mix * x0
        samples[q + 1] = y1 + dry_mix * x1
        samples[q + 2] = y2 + dry_mix * x2
        samples[q + 3] = y3 + dry_mix * x3
        n += STEP
    while n < b:
        k = n - t0
        xv = arena[burst_offset + k] if k < burst_len else 0.0
        y = 0.0
        for m in range(n_modes):
            pr = pole_re[s, m]
            pi = pole_im[s, m]
            zr = state_re[s, m]
            zi = state_im[s, m]
            nr = pr * zr - pi * zi + xv
            ni = pr * zi + pi * zr
            state_re[s, m] = nr
            state_im[s, m] = ni
            y += weight[s, m] * ni
        samples[first + n - a] = y + dry_mix * xv
        n += 1


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _seg32(s, a, b, n_modes, fast, samples, first):
    """Fast path: slot ``s``'s free-ringing modes in float32 over [a, b) (no burst left),
    samples to ``samples[first:]``. Same blocking as :func:`_seg64`, twice the vector lanes."""
    n = a
    while n + STEP <= b:
        y0 = np.float32(0.0)
        y1 = np.float32(0.0)
        y2 = np.float32(0.0)
        y3 = np.float32(0.0)
        for m in range(n_modes):
            pr = fast[s, F32_POLE_RE, m]
            pi = fast[s, F32_POLE_IM, m]
            wm = fast[s, F32_WEIGHT, m]
            zr = fast[s, F32_STATE_RE, m]
            zi = fast[s, F32_STATE_IM, m]
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
            fast[s, F32_STATE_RE, m] = zr
            fast[s, F32_STATE_IM, m] = zi
        q = first + n - a
        samples[q] = y0
        samples[q + 1] = y1
        samples[q + 2] = y2
        samples[q + 3] = y3
        n += STEP
    while n < b:
        y = np.float32(0.0)
        for m in range(n_modes):
            pr = fast[s, F32_POLE_RE, m]
            pi = fast[s, F32_POLE_IM, m]
            zr = fast[s, F32_STATE_RE, m]
            zi = fast[s, F32_STATE_IM, m]
            nr = pr * zr - pi * zi
            ni = pr * zi + pi * zr
            fast[s, F32_STATE_RE, m] = nr
            fast[s, F32_STATE_IM, m] = ni
            y += fast[s, F32_WEIGHT, m] * ni
        samples[first + n - a] = y
        n += 1


@njit(cache=True, nogil=True, inline="always")
def _anchor(s, n, t0, bl, nm, sre, sim, q32, pa, anc, on32):
    """Anchor event of slot ``s`` at absolute sample ``n`` (``n == anc[s]``).

    On the float32 path: the exact float64 state moves ``ANCHOR`` samples in one step
    (``z <- z p^ANCHOR``, from the previous anchor) and the float32 state restarts from it,
    so float32 rounding never accumulates over more than ``ANCHOR`` samples. On the exact
    path: once the burst is over the slot switches to float32. (Arrays of :class:`SlotState`:
    ``state_re``, ``state_im``, ``fast``, ``pole_pow_anchor``, ``next_anchor``, ``on_float32``.)
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
            q32[s, F32_STATE_RE, m] = sre[s, m]
            q32[s, F32_STATE_IM, m] = sim[s, m]
    anc[s] = n + ANCHOR


@njit(cache=True, nogil=True)
def slot_to_f64(st, s):
    """Move slot ``s`` to the exact path: its float64 state takes the float32 state's value
    (before its poles change; the next anchor moves it back to float32)."""
    if st.on_float32[s]:
        sre = st.state_re
        sim = st.state_im
        q32 = st.fast
        for m in range(st.n_modes[s]):
            sre[s, m] = q32[s, F32_STATE_RE, m]
            sim[s, m] = q32[s, F32_STATE_IM, m]
        st.on_float32[s] = False


@njit(cache=True, nogil=True)
def retune_slots(st, slots, old_n_modes, macros):
    """New poles and weights for ``slots`` after their modes or the macros changed outside
    the kernels: each moves to the exact path (:func:`slot_to_f64`), modes beyond its old
    count ``old_n_modes`` start from rest, then :func:`slot_poles` with ``macros``."""
    for j in range(slots.shape[0]):
        s = slots[j]
        slot_to_f64(st, s)
        for m in range(old_n_modes[j], st.n_modes[s]):
            st.state_re[s, m] = 0.0
            st.state_im[s, m] = 0.0
        slot_poles(st, s, macros)


@njit(cache=True, nogil=True)
def _bank_enter(st, bank, s, n):
    """Append slot ``s``'s modes to the steady bank at tick start ``n`` (float32 path, burst
    over): the exact state at ``n`` comes from the slot's last own anchor (``next_anchor[s] -
    ANCHOR``, at most a tick earlier) in float64 steps, the float32 state restarts from it."""
    bf = bank.fast
    bd = bank.exact
    entry_slot = bank.entry_slot
    entry_mode = bank.entry_mode
    pre = st.pole_re
    pim = st.pole_im
    sre = st.state_re
    sim = st.state_im
    q32 = st.fast
    w = st.weight
    bix = st.bank_entry
    j0 = bank.n_entries[0]
    g0 = st.gain_end[s, 0]
    g1 = st.gain_end[s, 1]
    d = n - (st.next_anchor[s] - ANCHOR)
    nm = st.n_modes[s]
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
        bf[c, 0, i] = q32[s, F32_POLE_RE, m]
        bf[c, 1, i] = q32[s, F32_POLE_IM, m]
        bf[c, 2, i] = zr
        bf[c, 3, i] = zi
        bf[c, 4, i] = w[s, m] * g0
        bf[c, 5, i] = w[s, m] * g1
        bd[c, 0, i] = zr
        bd[c, 1, i] = zi
        bd[c, 2, i] = ar
        bd[c, 3, i] = ai
        entry_slot[j] = s
        entry_mode[j] = m
        bix[s, m] = j
    st.in_bank[s] = True
    bank.n_entries[0] = j0 + nm


@njit(cache=True, nogil=True)
def bank_leave(st, bank, s, n):
    """Take slot ``s``'s modes out of the steady bank at sample ``n``: its exact float64
    state at ``n`` (from the bank's last anchor, in float64 steps) goes back to the slot,
    which runs the exact path up to its own next anchor (then float32 again). The bank's last
    entries move into the freed places, so it stays dense."""
    bf = bank.fast
    bd = bank.exact
    entry_slot = bank.entry_slot
    entry_mode = bank.entry_mode
    pre = st.pole_re
    pim = st.pole_im
    sre = st.state_re
    sim = st.state_im
    bix = st.bank_entry
    d = n - bank.anchor_sample[0]
    for m in range(st.n_modes[s]):
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
        last = bank.n_entries[0] - 1
        cl = last // BANK_CHUNK
        il = last % BANK_CHUNK
        if j != last:
            for r in range(BANK_ROWS32):
                bf[c, r, i] = bf[cl, r, il]
            for r in range(BANK_ROWS64):
                bd[c, r, i] = bd[cl, r, il]
            so = entry_slot[last]
            mo = entry_mode[last]
            entry_slot[j] = so
            entry_mode[j] = mo
            bix[so, mo] = j
        for r in range(BANK_ROWS32):
            bf[cl, r, il] = 0.0
        for r in range(BANK_ROWS64):
            bd[cl, r, il] = 0.0
        entry_slot[last] = -1
        bank.n_entries[0] = last
    st.in_bank[s] = False
    st.on_float32[s] = False
    t0 = st.start[s]
    st.next_anchor[s] = t0 + ANCHOR * -(-(n - t0) // ANCHOR)


@njit(cache=True, nogil=True)
def bank_evict(st, bank, slots, n):
    """:func:`bank_leave` at sample ``n`` for those of ``slots`` that are in the bank."""
    for j in range(slots.shape[0]):
        if st.in_bank[slots[j]]:
            bank_leave(st, bank, slots[j], n)


@njit(cache=True, nogil=True, fastmath=True)
def _bank_render(bf, bd, n_entries, anchor_sample, a, b, base, out, nch):
    """Steady bank over absolute samples [a, b): one long loop over all its modes, chunk by
    chunk (:data:`BANK_CHUNK` modes, state in L1 over the range), :data:`STEP` samples per
    pass. (Chunks are the first axis and the mode loop starts at 0: that is what lets LLVM
    vectorize it.)

    When ``b`` ends a tick, each chunk is then re-anchored while in cache: its float64 state
    advances by ``p^TICK`` and the float32 state restarts from it (``anchor_sample = b``).
    (Arrays of :class:`BankState`: ``fast``, ``exact``, ``n_entries``, ``anchor_sample``.)"""
    cnt = n_entries[0]
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
        anchor_sample[0] = b


@njit(cache=True, nogil=True, fastmath=True)
def _tick_controls(ctl, scratch, out0, end):
    """Phase 1: the controls of every tick touched by samples [out0, end): at each tick start
    the macros move one smoothing step (``tick_macros``; ``tick_poles_move`` when pitch, decay
    or brightness changed) and the master gain ramps linearly over the tick
    (``tick_master``: value before the tick's first sample, step per sample)."""
    first = (out0 // TICK) * TICK
    now = ctl.macro_now
    alpha = ctl.smoothing[0]
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        scratch.tick_poles_move[k] = False
        if n == tick0:
            for q in range(N_POLE_MACROS):
                now[q] = _smooth(now[q], ctl.macro_target[q], alpha)
            ctl.master_start[0] = ctl.master_end[0]
            ctl.master_end[0] = _smooth(ctl.master_end[0], ctl.macro_target[MAC_MASTER], alpha)
            now[MAC_MASTER] = ctl.master_end[0]
            moved = False
            for q in range(N_POLE_MACROS):
                if now[q] != ctl.pole_macros[q]:
                    moved = True
            if moved:
                scratch.tick_poles_move[k] = True
                for q in range(N_POLE_MACROS):
                    ctl.pole_macros[q] = now[q]
        for q in range(N_MACROS):
            scratch.tick_macros[k, q] = now[q]
        scratch.tick_master[k, 0] = ctl.master_start[0]
        scratch.tick_master[k, 1] = (ctl.master_end[0] - ctl.master_start[0]) / TICK
        n = min(end, tick0 + TICK)


@njit(cache=True, nogil=True)
def _bank_upkeep(st, slots, bank, tick0, poles_move, at_anchor, call_start):
    """Phase 2a, at a tick start: slots leave the bank when the poles move, when they are
    killed or send to a room, when their gains moved (edits arrive between calls, so that is
    checked at a call's first tick) or (at anchors) when their end is near."""
    active = slots.active
    in_bank = st.in_bank
    kill = st.killed
    room = st.room
    t0 = st.start
    life = st.life
    gA = st.gain_start
    gB = st.gain_end
    gT = st.gain_target
    for ia in range(slots.n_active[0]):
        s = active[ia]
        if not in_bank[s]:
            continue
        go = poles_move or kill[s] or room[s] >= 0
        if call_start:
            go = go or gB[s, 0] != gT[s, 0] or gB[s, 1] != gT[s, 1] \
                or gA[s, 0] != gB[s, 0] or gA[s, 1] != gB[s, 1]
        if at_anchor and t0[s] + life[s] <= tick0 + ANCHOR:
            go = True
        if go:
            bank_leave(st, bank, s, tick0)


@njit(cache=True, nogil=True, fastmath=True)
def _render_ticks(st, slots, bank, scratch, arena, out, out0, end, base, use32, alpha):
    """Phase 2, tick by tick over samples [out0, end): bank upkeep at the tick start (slots
    leave), every active slot outside the bank (at the tick start its controls move one step,
    and a free-ringing slot with steady controls joins the bank instead), then the bank, which
    re-anchors at the tick's end. (One loop per call, so the records' arrays are bound once.)
    """
    nch = out.shape[1]
    first = (out0 // TICK) * TICK
    ybuf = scratch.samples
    active = slots.active
    in_bank = st.in_bank
    on32 = st.on_float32
    nmod = st.n_modes
    anc = st.next_anchor
    t0 = st.start
    life_b = st.life
    blen = st.burst_len
    boff = st.burst_offset
    mixw = st.dry_mix
    room = st.room
    kill = st.killed
    gA = st.gain_start
    gB = st.gain_end
    gT = st.gain_target
    sA = st.send_start
    sB = st.send_end
    sT = st.send_target
    pre = st.pole_re
    pim = st.pole_im
    sre = st.state_re
    sim = st.state_im
    w = st.weight
    q32 = st.fast
    pa = st.pole_pow_anchor
    bf = bank.fast
    bd = bank.exact
    n_entries = bank.n_entries
    bank_anchor = bank.anchor_sample
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        seg_end = min(end, tick0 + TICK)
        poles_move = scratch.tick_poles_move[k]
        macros = scratch.tick_macros[k]
        at_anchor = use32 and n == tick0 and tick0 % ANCHOR == 0
        if n == tick0 and n_entries[0] > 0 and (poles_move or at_anchor or n == out0):
            _bank_upkeep(st, slots, bank, tick0, poles_move, at_anchor, n == out0)
        for ia in range(slots.n_active[0]):
            s = active[ia]
            if in_bank[s]:
                continue
            if n == tick0:  # the slot's controls move one tick
                if poles_move:
                    slot_to_f64(st, s)
                    slot_poles(st, s, macros)
                    life_b[s] = slot_life(blen[s], st.tail[s], macros[MAC_DECAY])
                for c in range(2):
                    gA[s, c] = gB[s, c]
                    gB[s, c] = _smooth(gB[s, c], gT[s, c], alpha)
                sA[s] = sB[s]
                sB[s] = _smooth(sB[s], sT[s], alpha)
                # free-ringing with steady controls: join the bank at this anchor
                if (use32 and on32[s] and nmod[s] > 0 and not poles_move
                        and tick0 - (anc[s] - ANCHOR) <= TICK
                        and room[s] < 0 and not kill[s]
                        and t0[s] + life_b[s] > tick0 + 2 * ANCHOR
                        and gA[s, 0] == gT[s, 0] and gA[s, 1] == gT[s, 1]
                        and gB[s, 0] == gT[s, 0] and gB[s, 1] == gT[s, 1]):
                    _bank_enter(st, bank, s, tick0)
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
                        _seg64(s, p, e, ts, arena, boff[s], bl, mixw[s], nm, pre, pim, sre, sim, w,
                               ybuf, p - a)
                    p = e
                inv = 1.0 / TICK
                g0a = gA[s, 0]
                g1a = gA[s, 1]
                sa = sA[s]
                _mix_out(out, ybuf, a - base, a - tick0 + 1, b - a, g0a,
                         (gB[s, 0] - g0a) * inv, g1a, (gB[s, 1] - g1a) * inv, sa,
                         (sB[s] - sa) * inv, room[s], nch)
        if n_entries[0] > 0:
            _bank_render(bf, bd, n_entries, bank_anchor, n, seg_end, base, out, nch)
        elif seg_end % TICK == 0:
            bank_anchor[0] = seg_end
        n = seg_end


@njit(cache=True, nogil=True, fastmath=True)
def _apply_master(scratch, out, out0, end, base):
    """Phase 3: the master gain ramp of every tick, on every bus."""
    first = (out0 // TICK) * TICK
    n = out0
    while n < end:
        tick0 = (n // TICK) * TICK
        k = (tick0 - first) // TICK
        seg_end = min(end, tick0 + TICK)
        ma = scratch.tick_master[k, 0]
        md = scratch.tick_master[k, 1]
        if not (ma == 1.0 and md == 0.0):
            for bus in range(out.shape[0]):
                for c in range(out.shape[1]):
                    for t in range(n, seg_end):
                        out[bus, c, t - base] *= ma + md * (t - tick0 + 1)
        n = seg_end


@njit(cache=True, nogil=True)
def _retire(st, slots, bank, end):
    """Phase 4: slots past the end of life (burst + tail scaled by the decay macro), or
    killed and silent, leave the active list (order kept) for the free stack."""
    active = slots.active
    free = slots.free
    t0 = st.start
    life = st.life
    kill = st.killed
    gA = st.gain_start
    gB = st.gain_end
    keep = 0
    for ia in range(slots.n_active[0]):
        s = active[ia]
        dead = end >= t0[s] + life[s]
        if kill[s] and gA[s, 0] == 0.0 and gB[s, 0] == 0.0 and gA[s, 1] == 0.0 \
                and gB[s, 1] == 0.0:
            dead = True
        if dead:
            if st.in_bank[s]:
                bank_leave(st, bank, s, end)
            free[slots.n_free[0]] = s
            slots.n_free[0] += 1
        else:
            active[keep] = s
            keep += 1
    slots.n_active[0] = keep


@njit(cache=True, nogil=True)
def render_block(out, out_index, out0, count, st, slots, bank, ctl, scratch, arena, use32):
    """Render absolute samples [out0, out0 + count) of every active slot into ``out``.

    Parameters
    ----------
    out : float64 (1 + rooms, channels, >= out_index + count)
        Prepared by the caller (zeros, plus the MDCT samples on bus 0); sample ``out0`` goes
        to index ``out_index``. Bus 0 is the dry mix, bus ``r + 1`` the send to room ``r``.
    st : SlotState
    slots : SlotList
        Retired slots are removed from ``active`` in place (order kept) and pushed on
        ``free``.
    bank : BankState
        Steady bank; room for ``n_entries`` + the modes of every active slot.
    ctl : Controls
    scratch : Scratch
        For calls of at least ``count`` samples.
    arena : float64 (P,)
        Burst samples (slot ``s``'s burst sample ``k`` at ``arena[burst_offset[s] + k]``).
    use32 : bool
        Use the float32 path for free-ringing modes (else float64 throughout, no bank).

    Notes
    -----
    Phases: (1) the controls of every tick; (2) tick by tick: bank upkeep at the tick start
    (slots leave), the slots outside the bank (joining it when steady), then the bank, which
    re-anchors at the tick's end; (3) the master gain ramp; (4) retirement. Every decision
    depends only on absolute sample positions, never on the block size, and translating a
    score by whole ticks (a loop of whole ticks) gives the same arithmetic.
    """
    end = out0 + count
    base = out0 - out_index
    _tick_controls(ctl, scratch, out0, end)
    _render_ticks(st, slots, bank, scratch, arena, out, out0, end, base, use32,
                  ctl.smoothing[0])
    _apply_master(scratch, out, out0, end, base)
    _retire(st, slots, bank, end)


_N_SLOT = len(SlotState._fields)
_N_LIST = len(SlotList._fields)
_N_BANK = len(BankState._fields)
_N_CONTROLS = len(Controls._fields)


@njit(cache=True, nogil=True)
def render_flat(out, out_index, out0, count, arena, use32, *arrays):
    """:func:`render_block` called with its records flattened: ``arrays`` are the fields of
    a :class:`SlotState`, a :class:`SlotList`, a :class:`BankState`, a :class:`Controls` and a
    :class:`Scratch`, in that order (``*st, *slots, *bank, *ctl, *scratch``).

    The records are rebuilt here, in compiled code. The reason is the cost of a call from
    Python: Numba's dispatcher types plain arrays in C but NamedTuples in Python, which made a
    call with the five records some 25 us slower, a few percent of a 256-frame block.
    """
    st = SlotState(*arrays[:_N_SLOT])
    rest = arrays[_N_SLOT:]
    slots = SlotList(*rest[:_N_LIST])
    rest = rest[_N_LIST:]
    bank = BankState(*rest[:_N_BANK])
    rest = rest[_N_BANK:]
    ctl = Controls(*rest[:_N_CONTROLS])
    scratch = Scratch(*rest[_N_CONTROLS:])
    render_block(out, out_index, out0, count, st, slots, bank, ctl, scratch, arena, use32)


@njit(cache=True, nogil=True)
def start_slots_flat(slots, starts, burst_lens, tails, now, macros, *arrays):
    """:func:`start_slots` with the :class:`SlotState` flattened (``*st``; see
    :func:`render_flat`)."""
    start_slots(SlotState(*arrays), slots, starts, burst_lens, tails, now, macros)


@njit(cache=True, nogil=True)
def compact_arena(arena, st, slots, now):
    """Move the unplayed burst samples of ``slots`` (sorted by ``burst_offset``) to the
    arena's front.

    Returns the new end of the used part. A slot whose burst is over keeps ``burst_len`` but
    its samples are no longer read.
    """
    cursor = 0
    for i in range(slots.shape[0]):
        s = slots[i]
        k = max(now - st.start[s], 0)
        if k >= st.burst_len[s]:
            continue
        src = st.burst_offset[s] + k
        rem = st.burst_len[s] - k
        if src != cursor:
            for j in range(rem):
                arena[cursor + j] = arena[src + j]
        st.burst_offset[s] = cursor - k
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
    """Compile (or load from the cache) every kernel by running it once on tiny records made
    by the constructors the synthesizer uses (so the argument types are the synthesizer's)."""
    st = new_slot_state(2)
    slots = new_slot_list(2)
    bank = new_bank_state(BANK_CHUNK)
    ctl = new_controls(0.1)
    scratch = new_scratch(2 * TICK)
    out = np.zeros((2, 2, 2 * TICK))
    arena = np.zeros(8)
    first = slots.free[slots.n_free[0] - 1 :].copy()
    start_slots(st, first, first * 0, first * 0 + 1, first * 0, 0, ctl.macro_now)
    advance_state(st, 0, 1, arena, 0)
    slot_to_f64(st, 0)
    bank_leave(st, bank, 1, 0)  # slot 1 has no modes: nothing moves
    bank_evict(st, bank, first, 0)  # not in the bank: nothing moves
    retune_slots(st, first, st.n_modes[first], ctl.macro_now)
    render_block(out, 0, 0, TICK + 3, st, slots, bank, ctl, scratch, arena, True)
    render_flat(out, 0, 0, TICK + 3, arena, True, *st, *slots, *bank, *ctl, *scratch)
    start_slots_flat(first, first * 0, first * 0 + 1, first * 0, 0, ctl.macro_now, *st)
    compact_arena(arena, st, first, 0)
    ring_take(out[0], 0, 3, out[1], 1)
    ring_add(out[0], 0, out[1, :, :3].copy(), 0)
    uniform_noise_into(0, 0, arena)  # batched bursts (rt.burst.bursts)
