"""Numba kernels of matching pursuit over a union of MDCT bases (see :mod:`.pursuit`).

Pure functions on preallocated arrays; no validation. Layout, for scales ``s`` (hop ``h_s``),
channels ``c`` and frames ``t < T_s``:

* ``resid``: (C, D) residual on a padded domain; native sample ``n`` is ``resid[c, P + n]``.
* ``coef``: flat; frame ``(s, c, t)`` has global index ``g = fr_off[s] + c * T_s + t`` and its
  ``h_s`` coefficients start at ``co_off[s] + (c * T_s + t) * h_s``.
* ``fmax`` / ``fbin``: largest ``|coef|`` of each frame and its bin (first on ties).
* ``tree``: a tournament tree over the frames (``tree[1]`` is the frame holding the largest
  coefficient; ties go to the lower frame index) so selection costs O(log frames).
* Per-scale tables (flat, offsets ``tb_off[s]``): sine window (2h), DCT-IV pre/post twiddles
  (h/2 each, complex), FFT twiddles (h/4, complex), bit reversal (h/2), and a cosine table of
  length 8h for synthesizing atoms: ``cos(pi m / (4 h))``.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True)
def _fft(re, im, n, tw_re, tw_im, rev):
    """In-place radix-2 complex FFT of length n (power of two) on re/im[0:n]."""
    for i in range(n):
        j = rev[i]
        if j > i:
            tr = re[i]
            re[i] = re[j]
            re[j] = tr
            ti = im[i]
            im[i] = im[j]
            im[j] = ti
    m = 1
    while m < n:
        step = n // (2 * m)
        for start in range(0, n, 2 * m):
            for j in range(m):
                wr = tw_re[j * step]
                wi = tw_im[j * step]
                a = start + j
                b = a + m
                xr = re[b] * wr - im[b] * wi
                xi = re[b] * wi + im[b] * wr
                re[b] = re[a] - xr
                im[b] = im[a] - xi
                re[a] += xr
                im[a] += xi
        m *= 2


@njit(cache=True, nogil=True, inline="always")
def _folded(r, start, win, q, i):
    """Sample i of the folded, windowed frame (TDAC fold of x = r[start:] * win)."""
    if i < q:
        a = 3 * q - 1 - i
        b = 3 * q + i
        return -r[start + a] * win[a] - r[start + b] * win[b]
    j = i - q
    a = 2 * q - 1 - j
    return r[start + j] * win[j] - r[start + a] * win[a]


@njit(cache=True, nogil=True)
def frame_mdct(r, start, h, win, pre_re, pre_im, post_re, post_im, tw_re, tw_im, rev,
               out, out_off, wre, wim):
    """MDCT coefficients of the frame ``r[start : start + 2h]`` into ``out[out_off:+h]``."""
    q = h // 2
    half = h // 2
    # folded[i], i < q: -x[3q-1-i] - x[3q+i]; folded[q+i]: x[i] - x[2q-1-i]  (x = r * win)
    # z[n] = (f[2n] + i f[h-1-2n]) * pre[n]
    for n in range(half):
        f0 = _folded(r, start, win, q, 2 * n)
        f1 = _folded(r, start, win, q, h - 1 - 2 * n)
        wre[n] = f0 * pre_re[n] - f1 * pre_im[n]
        wim[n] = f0 * pre_im[n] + f1 * pre_re[n]
    _fft(wre, wim, half, tw_re, tw_im, rev)
    sc = math.sqrt(2.0 / h)
    for n in range(half):
        yr = wre[n] * post_re[n] - wim[n] * post_im[n]
        yi = wre[n] * post_im[n] + wim[n] * post_re[n]
        out[out_off + 2 * n] = yr * sc
        out[out_off + h - 1 - 2 * n] = -yi * sc


@njit(cache=True, nogil=True)
def _better(fmax, a, b):
    """Winner of leaves a, b: larger value, lower index on ties (a < b assumed)."""
    if fmax[b] > fmax[a]:
        return b
    return a


@njit(cache=True, nogil=True)
def tree_build(fmax, tree, n_leaves_pow2):
    for i in range(n_leaves_pow2):
        tree[n_leaves_pow2 + i] = i
    for i in range(n_leaves_pow2 - 1, 0, -1):
        tree[i] = _better(fmax, tree[2 * i], tree[2 * i + 1])


@njit(cache=True, nogil=True)
def tree_update(fmax, tree, n_leaves_pow2, g):
    i = (n_leaves_pow2 + g) // 2
    while i >= 1:
        tree[i] = _better(fmax, tree[2 * i], tree[2 * i + 1])
        i //= 2


@njit(cache=True, nogil=True)
def _refresh_frame(resid, coef, fmax, fbin, s, c, t, hops, n_fr, fr_off, co_off, tb_off, pad,
                   win, pre_re, pre_im, post_re, post_im, tw_re, tw_im, rev, wre, wim):
    h = hops[s]
    to = tb_off[s]
    off = co_off[s] + (c * n_fr[s] + t) * h
    start = pad + (t - 1) * h
    frame_mdct(resid[c], start, h, win[2 * to:2 * to + 2 * h],
               pre_re[to // 2:to // 2 + h // 2], pre_im[to // 2:to // 2 + h // 2],
               post_re[to // 2:to // 2 + h // 2], post_im[to // 2:to // 2 + h // 2],
               tw_re[to // 4:to // 4 + h // 4], tw_im[to // 4:to // 4 + h // 4],
               rev[to // 2:to // 2 + h // 2], coef, off, wre, wim)
    g = fr_off[s] + c * n_fr[s] + t
    _rescan(coef, fmax, fbin, off, h, g)
    return g


@njit(cache=True, nogil=True)
def init_all(resid, coef, fmax, fbin, tree, n_pow2, hops, n_fr, fr_off, co_off, tb_off, pad,
             channels, win, pre_re, pre_im, post_re, post_im, tw_re, tw_im, rev, wre, wim):
    """Analyse every frame of every scale and build the tree."""
    for s in range(hops.size):
        for c in range(channels):
            for t in range(n_fr[s]):
                _refresh_frame(resid, coef, fmax, fbin, s, c, t, hops, n_fr, fr_off, co_off,
                               tb_off, pad, win, pre_re, pre_im, post_re, post_im, tw_re,
                               tw_im, rev, wre, wim)
    tree_build(fmax, tree, n_pow2)


@njit(cache=True, nogil=True)
def _rescan(coef, fmax, fbin, off, h, g):
    best = -1.0
    bk = 0
    for k in range(h):
        a = abs(coef[off + k])
        if a > best:
            best = a
            bk = k
    fmax[g] = best
    fbin[g] = bk


@njit(cache=True, nogil=True)
def run(resid, coef, fmax, fbin, tree, n_pow2, hops, n_fr, fr_off, co_off, tb_off, pad,
        channels, win, pre_re, pre_im, post_re, post_im, tw_re, tw_im, rev, costab, wre, wim,
        energy, target_energy, max_iter, greed, max_round, stamp, round_id,
        d_c, d_s, d_t, sel_s, sel_c, sel_t, sel_k, sel_v, n_sel):
    """Pursuit in rounds, up to ``max_iter`` atoms or until the residual energy <= target.

    A round starts from the largest coefficient ``M`` and keeps taking the largest cached
    coefficient while it is at least ``greed * M`` and orthogonal to every atom taken in the
    round (same scale, or a disjoint support), so every coefficient it takes is exact; frames
    whose cache a round made stale (overlapping an atom of another scale) are set aside. After
    the round only the frames overlapping the round's atoms are re-analysed, each once, and
    frames of an atom's own scale are not re-analysed at all (only its coefficient changes).
    ``greed = 1`` is plain matching pursuit (one atom per round except exact ties).
    Appends the selections to ``sel_*`` from index ``n_sel``. Returns ``(n_sel, energy,
    round_id)``.
    """
    n_scales = hops.size
    done = 0
    while done < max_iter and energy > target_energy:
        g = tree[1]
        top = fmax[g]
        if top <= 0.0:
            break
        floor = greed * top
        n_round = 0
        round_id += 1
        while done < max_iter and energy > target_energy and n_round < max_round:
            g = tree[1]
            m = fmax[g]
            if m <= 0.0 or m < floor:
                break
            s = 0
            while s + 1 < n_scales and g >= fr_off[s + 1]:
                s += 1
            local = g - fr_off[s]
            c = local // n_fr[s]
            t = local - c * n_fr[s]
            h = hops[s]
            a0 = (t - 1) * h
            a1 = (t + 1) * h
            stale = False
            for i in range(n_round):
                if d_c[i] == c and d_s[i] != s:
                    hi_ = hops[d_s[i]]
                    if (d_t[i] - 1) * hi_ < a1 and (d_t[i] + 1) * hi_ > a0:
                        stale = True
                        break
            if stale:
                fmax[g] = -1.0  # re-analysed after the round
                tree_update(fmax, tree, n_pow2, g)
                continue
            k = fbin[g]
            off = co_off[s] + local * h
            v = coef[off + k]
            sel_s[n_sel] = s
            sel_c[n_sel] = c
            sel_t[n_sel] = t
            sel_k[n_sel] = k
            sel_v[n_sel] = v
            n_sel += 1
            done += 1
            energy -= v * v
            to = tb_off[s]
            sc = v * math.sqrt(2.0 / h)
            start = pad + a0
            kk = 2 * k + 1
            m8 = 8 * h
            rc = resid[c]
            for j in range(2 * h):
                mm = ((2 * j + 1 + h) * kk) % m8
                rc[start + j] -= sc * win[2 * to + j] * costab[8 * to + mm]
            coef[off + k] = 0.0
            _rescan(coef, fmax, fbin, off, h, g)
            tree_update(fmax, tree, n_pow2, g)
            d_c[n_round] = c
            d_s[n_round] = s
            d_t[n_round] = t
            n_round += 1
        # re-analyse the frames of other scales that overlap the round's atoms
        for i in range(n_round):
            c = d_c[i]
            s = d_s[i]
            h = hops[s]
            a0 = (d_t[i] - 1) * h
            a1 = (d_t[i] + 1) * h
            for s2 in range(n_scales):
                if s2 == s:
                    continue
                h2 = hops[s2]
                lo = a0 // h2
                hi = -((-a1) // h2)
                if lo < 0:
                    lo = 0
                if hi > n_fr[s2] - 1:
                    hi = n_fr[s2] - 1
                base = fr_off[s2] + c * n_fr[s2]
                for t2 in range(lo, hi + 1):
                    if stamp[base + t2] == round_id:
                        continue
                    stamp[base + t2] = round_id
                    g2 = _refresh_frame(resid, coef, fmax, fbin, s2, c, t2, hops, n_fr,
                                        fr_off, co_off, tb_off, pad, win, pre_re, pre_im,
                                        post_re, post_im, tw_re, tw_im, rev, wre, wim)
                    tree_update(fmax, tree, n_pow2, g2)
        if n_round == 0:
            break
    return n_sel, energy, round_id
