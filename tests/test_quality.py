"""Quality measures (``offline/quality.py``) against closed forms, and ViSQOL's ordering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from atomsynth.offline import quality
from atomsynth.rt.errors import ParameterError

SR = 16000


def test_snr_closed_form(rng):
    x = rng.standard_normal((2, 4000))
    assert quality.snr_db(x, 0.9 * x) == pytest.approx(20.0, abs=1e-9)  # error 0.1 x
    assert quality.snr_db(x, x) == math.inf


def test_lsd_of_a_gain_is_the_gain_in_db(rng):
    x = rng.standard_normal((1, 8000))
    # a 6.02 dB gain changes every (well above floor) log-power bin by 20 log10(2)
    assert quality.log_spectral_distance(x, 2 * x, SR) == pytest.approx(20 * math.log10(2),
                                                                       rel=1e-6)


def test_mel_distance(rng):
    x = rng.standard_normal((1, 8000))
    assert quality.mel_distance(x, x, SR) == 0.0
    assert quality.mel_distance(x, 10 * x, SR) == pytest.approx(1.0, abs=1e-6)  # log10(10)
    fb = quality.mel_filterbank(SR)
    assert fb.shape == (80, 1025) and (fb >= 0).all()
    with pytest.raises(ParameterError, match="channel"):
        quality.mel_distance(np.zeros((2, 10)), np.zeros((1, 10)), SR)


def test_visqol_orders_quality(rng):
    pytest.importorskip("visqol")
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1330 * t))[None]
    clean = quality.visqol(x, x, SR)
    noisy = quality.visqol(x, x + 0.05 * rng.standard_normal(x.shape), SR)
    assert 1.0 <= noisy < clean <= 5.0
