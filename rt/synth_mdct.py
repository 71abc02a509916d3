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
from atomsynth.rt.resample import STREAM_CHUNK, StreamResampler
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

    def wrap(self, score: float, now: int, clock: ScoreClock, groups: GroupGains) -> None:
        """The loop wrapped at output sample ``now`` back to ``score``."""
        self.add_straddling(score, now, clock, groups)

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


class ResampledMdct:
    """The MDCT stream of a set whose native rate differs from the output rate.

    Frames are synthesized on their native grid by an :class:`MdctStream` with a clock of its
    own (native output samples to native score samples, the same stretch and loop as the
    output's clock, scaled) and resampled by a :class:`~atomsynth.rt.resample.StreamResampler`
    fed :data:`~atomsynth.rt.resample.STREAM_CHUNK` native samples at a time, as the offline
    path (:func:`atomsynth.rt.reference.render`) resamples. The native stream runs ahead of
    the output by the resampler's look-ahead (about 1,700 output samples at 22,050 to 48,000
    Hz), so a control change reaches the MDCT part of the output that much later than the
    resonant part. How far it runs depends only on the output position demanded, so the
    samples do not depend on the render's block sizes.

    Parameters
    ----------
    channels : int
    native_rate, out_rate : int
        The set's rate and the output rate in Hz.
    """

    def __init__(self, channels: int, native_rate: int, out_rate: int) -> None:
        self.native_rate, self.out_rate = int(native_rate), int(out_rate)
        self.ratio = native_rate / out_rate  # native samples per output sample
        self.inner = MdctStream(channels, STREAM_CHUNK)
        self.clock = ScoreClock()  # native output samples -> native score samples
        self.pos = 0  # native samples synthesized
        self.base = (0, 0)  # (output sample, native sample) that coincide
        self._loop_src: tuple[int, int] | None = None
        self._chunk = np.zeros((channels, STREAM_CHUNK))
        self.resampler = StreamResampler(native_rate, out_rate, channels)

    @property
    def scales(self) -> list[MdctScale]:
        return self.inner.scales

    @property
    def pitch_ratio(self) -> float:
        return self.inner.pitch_ratio

    @pitch_ratio.setter
    def pitch_ratio(self, value: float) -> None:
        self.inner.pitch_ratio = value

    def load(self, md: MdctAtoms) -> None:
        self.inner.load(md)

    @property
    def pending(self) -> bool:
        return self.inner.pending

    @property
    def end_score(self) -> int:
        """Output-rate score sample where the last frame's resampled tail ends."""
        if not self.inner.scales:
            return 0
        tail = int(math.ceil(self.resampler.delay)) + 2 * STREAM_CHUNK
        return int(math.ceil(self.inner.end_score / self.ratio)) + tail

    def _native_of(self, n: int) -> float:
        d0, p0 = self.base
        return p0 + (n - d0) * self.ratio

    def _follow(self, clock: ScoreClock) -> None:
        """Take the output clock's stretch and loop (scaled to the native rate)."""
        if clock.stretch != self.clock.stretch:
            self.clock.set_stretch(self.pos, clock.stretch)
        if clock.loop != self._loop_src:
            self._loop_src = clock.loop
            self.clock.loop = None if clock.loop is None else (
                int(round(clock.loop[0] * self.ratio)), int(round(clock.loop[1] * self.ratio)))

    def seek(self, score: float) -> None:
        self.inner.seek(self.clock.score_at(self.pos))

    def add_straddling(self, score: float, now: int, clock: ScoreClock,
                       groups: GroupGains) -> None:
        """Output sample ``now`` plays score ``score`` (output-rate samples): the native clock
        is anchored to match at the native stream's own position."""
        self._follow(clock)
        native = score * self.ratio + (self.pos - self._native_of(now)) / clock.stretch
        self.clock.anchor(self.pos, native)
        self.inner.add_straddling(native, self.pos, self.clock, groups)

    def wrap(self, score: float, now: int, clock: ScoreClock, groups: GroupGains) -> None:
        """Loops wrap on the native clock (see :meth:`add_due`)."""

    def restart(self, now: int, clock: ScoreClock, groups: GroupGains) -> None:
        if self.pos == 0:
            self._follow(clock)
            self.inner.restart(0, self.clock, groups)

    def fade_out(self, now: int) -> None:
        """Fade the resampled queue out from ``now``, drop the rest and start the resampler
        again at the native position (no old signal is left in it)."""
        rs = self.resampler
        rs.fade_queue(now, FADE_TICKS * K.TICK)
        rs.reset()
        self.inner.ring[:] = 0.0
        self.base = (rs.hi, self.pos)

    def add_due(self, n0: int, n1: int, clock: ScoreClock, groups: GroupGains) -> None:
        """Synthesize and resample native chunks until output sample ``n1`` is queued."""
        self._follow(clock)
        inner, nclock, rs = self.inner, self.clock, self.resampler
        while rs.hi < n1:
            m, end = self.pos, self.pos + STREAM_CHUNK
            while m < end:
                sub = end
                wrap = nclock.wrap_sample()
                if wrap is not None:
                    if wrap <= m:
                        ka = nclock.loop[0]
                        nclock.anchor(m, float(ka))
                        inner.add_straddling(float(ka), m, nclock, groups)
                        continue
                    sub = min(sub, wrap)
                inner.add_due(m, sub, nclock, groups)
                inner.take(m, sub - m, self._chunk, m - self.pos)
                m = sub
            self.pos = end
            rs.push(self._chunk)

    def take(self, n0: int, count: int, dst: np.ndarray, offset: int) -> None:
        self.resampler.take(n0, count, dst, offset)
