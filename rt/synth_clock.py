"""The score clock of the streaming synthesizer: output samples to score positions.

The score is the set's timeline in samples. Output sample ``n`` plays score position
``s_anchor + (n - n_anchor) / stretch``; the anchor moves when the ``time_stretch`` macro
changes (so the score stays continuous), on a seek and at a loop's wrap.
"""

from __future__ import annotations

import math


class ScoreClock:
    """Maps output samples to score positions (samples of the set's timeline) and back.

    Attributes
    ----------
    n_anchor : int
        Output sample of the anchor.
    s_anchor : float
        Score position at the anchor.
    stretch : float
        Output samples per score sample (the ``time_stretch`` macro).
    loop : tuple of int or None
        Score region ``[start, end)`` that repeats, in score samples.
    """

    def __init__(self) -> None:
        self.n_anchor = 0
        self.s_anchor = 0.0
        self.stretch = 1.0
        self.loop: tuple[int, int] | None = None

    def score_at(self, n: int) -> float:
        """Score position at output sample ``n``."""
        if self.stretch == 1.0:
            return self.s_anchor + (n - self.n_anchor)
        return self.s_anchor + (n - self.n_anchor) / self.stretch

    def out_start(self, k: float) -> int:
        """First output sample whose score position reaches ``k``."""
        if self.stretch == 1.0:
            return self.n_anchor + int(math.ceil(k - self.s_anchor))
        return self.n_anchor + int(math.ceil((k - self.s_anchor) * self.stretch))

    def anchor(self, n: int, score: float) -> None:
        """Output sample ``n`` plays score position ``score`` (a seek, a loop's wrap)."""
        self.n_anchor, self.s_anchor = n, score

    def set_stretch(self, n: int, stretch: float) -> None:
        """Change the stretch from output sample ``n`` on, the score continuous there."""
        self.n_anchor, self.s_anchor, self.stretch = n, self.score_at(n), stretch

    def wrap_sample(self) -> int | None:
        """Output sample where the loop wraps (``None`` without a loop)."""
        return None if self.loop is None else self.out_start(self.loop[1])
