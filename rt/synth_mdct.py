"""The MDCT stream of the streaming synthesizer: frames synthesized when the score reaches
them (inverse MDCT, NumPy) and overlap-added into a ring that the renderer drains.

Frame ``t`` of hop ``N`` is synthesized when the score reaches its first sample
``(t - 1) N``; its bins follow the ``pitch`` macro (:func:`atomsynth.rt.macros.pitch_mdct_bins`)
and its values the group gains, mutes and solos, as they are when it is synthesized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from atomsynth.rt import synth_kernels as K
from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.macros import pitch_mdct_bins
from atomsynth.rt.mdct import imdct_frames
from atomsynth.rt.synth_clock import ScoreClock

FADE_TICKS = 8
"""A seek fades what is in the ring out over this many ticks."""


class GroupGains(Protocol):
    """What the stream reads of the group controls (per group id)."""

    gain: np.ndarray
    mute: np.ndarray
    solo: np.ndarray
    any_solo: bool


@dataclass
class MdctScale:
    """The atoms of one MDCT scale, grouped by frame (CSR), and the next frame to add."""

    hop: int
    frames: np.ndarray  # unique frame numbers, sorted, int64
    starts: np.ndarray  # score sample of each frame's first sample: (t - 1) * hop
    ptr: np.ndarray  # CSR offsets into the atom arrays, (len(frames) + 1,)
    bins: np.ndarray
    chans: np.ndarray
    values: np.ndarray
    groups: np.ndarray
    next: int = 0


class MdctStream:
    """Frames of a set's MDCT atoms, added to an overlap-add ring as the score reaches them.

    Parameters
    ----------
    channels, max_block : int
        Output channels and the most samples rendered in one kernel call.
    """

    def __init__(self, channels: int, max_block: int) -> None:
        self.channels = channels
        cap = 1 << int(math.ceil(math.log2(max_block + K.TICK + 2 * 8192 + 1)))
        self.ring = np.zeros((channels, cap))
        self.scales: list[MdctScale] = []
        self.pitch_ratio = 1.0

    def load(self, md: MdctAtoms) -> None:
        """Take the atoms of a (new) set; the next frames are set by :meth:`seek`."""
        self.scales = []
        for scale in np.unique(md.scale) if len(md) else []:
            sel = np.flatnonzero(md.scale == scale)
            fr = md.frame[sel].astype(np.int64)
            o = np.argsort(fr, kind="stable")
            sel, fr = sel[o], fr[o]
            uniq, first = np.unique(fr, return_index=True)
            hop = int(scale) // 2
            self.scales.append(MdctScale(
                hop=hop, frames=uniq, starts=(uniq - 1) * hop,
                ptr=np.append(first, fr.size).astype(np.int64),
                bins=md.bin[sel].astype(np.int64), chans=md.channel[sel].astype(np.int64),
                values=md.value[sel].astype(np.float64), groups=md.group[sel].astype(np.int64)))

    @property
    def pending(self) -> bool:
        """Frames are left to add."""
        return any(sc.next < sc.frames.size for sc in self.scales)

    @property
    def end_score(self) -> int:
        """Score sample where the last frame ends (0 without frames)."""
        return max((int(sc.starts[-1]) + 2 * sc.hop for sc in self.scales), default=0)

    def seek(self, score: float) -> None:
        """The next frames to add are those starting at or after score sample ``score``."""
        for sc in self.scales:
            sc.next = int(np.searchsorted(sc.starts, score, "left"))

    def add_straddling(self, score: float, now: int, clock: ScoreClock,
                       groups: GroupGains) -> None:
        """Seek to ``score`` and add the frames that started before it and sound at it
        (aligned to the score at output sample ``now``)."""
        for sc in self.scales:
            sc.next = int(np.searchsorted(sc.starts, score, "left"))
            lo = int(np.searchsorted(sc.starts, score - 2 * sc.hop, "right"))
            if lo < sc.next:
                self._add(sc, lo, sc.next, None, now, clock, groups)

    def restart(self, now: int, clock: ScoreClock, groups: GroupGains) -> None:
        """Clear the ring and add again the frames sounding at ``now`` (before anything was
        rendered, after the controls changed)."""
        self.ring[:] = 0.0
        self.add_straddling(clock.score_at(now), now, clock, groups)

    def fade_out(self, now: int) -> None:
        """Fade what is in the ring out over :data:`FADE_TICKS` ticks from ``now``."""
        fade = FADE_TICKS * K.TICK
        cap = self.ring.shape[1]
        pos = np.arange(now, now + cap) % cap
        ramp = np.zeros(cap)
        ramp[:fade] = np.linspace(1.0, 0.0, fade + 1)[1:]
        self.ring[:, pos] *= ramp

    def add_due(self, n0: int, n1: int, clock: ScoreClock, groups: GroupGains) -> None:
        """Add the frames whose first sample falls in output samples [n0, n1), in (start,
        scale) order."""
        todo = []
        for si, sc in enumerate(self.scales):
            j = sc.next
            while j < sc.frames.size and clock.out_start(sc.starts[j]) < n1:
                j += 1
            if j > sc.next:
                outs = np.array([max(clock.out_start(x), n0) for x in sc.starts[sc.next:j]],
                                np.int64)
                todo.append((int(outs[0]), si, sc.next, j, outs))
                sc.next = j
        if len(todo) > 1:
            # split per frame so that frames of different scales interleave by start
            items = []
            for _, si, f0, f1, outs in todo:
                for q in range(f1 - f0):
                    items.append((int(outs[q]), si, f0 + q))
            items.sort()
            for t, si, f in items:
                self._add(self.scales[si], f, f + 1, np.array([t]), n0, clock, groups)
        elif todo:
            _, si, f0, f1, outs = todo[0]
            self._add(self.scales[si], f0, f1, outs, n0, clock, groups)

    def take(self, n0: int, count: int, dst: np.ndarray, offset: int) -> None:
        """Move ring samples [n0, n0 + count) into ``dst[:, offset:]`` (zeroing them)."""
        K.ring_take(self.ring, n0, count, dst, offset)

    def _add(self, sc: MdctScale, f0: int, f1: int, outs: np.ndarray | None, now: int,
             clock: ScoreClock, groups: GroupGains) -> None:
        """Synthesize frames ``f0:f1`` of a scale and overlap-add them into the ring at output
        samples ``outs`` (``None``: aligned to the score, for partial frames)."""
        a, b = int(sc.ptr[f0]), int(sc.ptr[f1])
        fidx = np.repeat(np.arange(f1 - f0), np.diff(sc.ptr[f0 : f1 + 1]))
        grp = sc.groups[a:b]
        audible = ~groups.mute[grp]
        if groups.any_solo:
            audible &= groups.solo[grp]
        coeffs = np.zeros((self.channels, f1 - f0, sc.hop))
        bins = pitch_mdct_bins(sc.bins[a:b], sc.hop, self.pitch_ratio)
        np.add.at(coeffs, (sc.chans[a:b], fidx, bins),
                  sc.values[a:b] * groups.gain[grp] * audible)
        blocks = imdct_frames(coeffs)
        for j in range(f1 - f0):
            start_score = int(sc.starts[f0 + j])
            if outs is None:  # partial frame around a reposition: aligned to the score
                t = now + (start_score - int(clock.s_anchor))
            else:
                t = int(outs[j])
            first = max(0, now - t)
            K.ring_add(self.ring, t, np.ascontiguousarray(blocks[:, j]), first)
