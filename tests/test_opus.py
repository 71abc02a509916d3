"""The Opus round trip (``offline/opus.py``), the codec atomsynth is measured against."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.offline import opus, quality
from atomsynth.rt.errors import ParameterError

SR = 16000


@pytest.mark.skipif(not opus.opus_available(), reason="opus-tools not installed")
def test_opus_round_trip_aligned():
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * np.minimum(1, t * 20))[None]
    r = opus.opus_roundtrip(x, SR, bitrate_kbps=64)
    assert r.audio.shape == x.shape
    assert quality.snr_db(x, r.audio) > 15.0  # aligned to the sample (a shift would ruin it)
    assert r.bitrate_bps == pytest.approx(r.nbytes * 8.0, rel=1e-12)  # 1 s of audio
    with pytest.raises(ParameterError, match="bitrate"):
        opus.opus_roundtrip(x, SR, bitrate_kbps=1)
