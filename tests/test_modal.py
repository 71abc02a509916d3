"""Mode tables estimated from recordings: synthetic strikes with known modes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atomsynth.offline.modal import estimate_modes
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.presets import load_mode_table

SR = 16000
FREQS = np.array([220.0, 607.2, 1188.4, 1964.0, 2934.5])
T60S = np.array([1.6, 1.1, 0.7, 0.45, 0.3])
AMPS = np.array([1.0, 0.6, 0.5, 0.3, 0.2])


def strike(rng: np.random.Generator, *, noise_db: float = -70.0, seconds: float = 2.0):
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros_like(t)
    for f, t60, a in zip(FREQS, T60S, AMPS, strict=True):
        x += a * np.exp(-t * np.log(1000) / t60) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
    x = np.concatenate([np.zeros(800), x])
    return x + rng.standard_normal(x.size) * 10 ** (noise_db / 20)


def test_known_modes_are_recovered(rng):
    est = estimate_modes(strike(rng), SR, max_modes=8)
    assert est.freq_hz.size == FREQS.size
    np.testing.assert_allclose(est.freq_hz, FREQS, rtol=0.005)
    np.testing.assert_allclose(est.t60_s, T60S, rtol=0.10)
    np.testing.assert_allclose(est.amp / est.amp[0], AMPS / AMPS[0], rtol=0.15)
    table = est.table("synthetic")
    np.testing.assert_allclose(table.ratios, FREQS / FREQS[0], rtol=0.005)
    np.testing.assert_allclose(table.decays, T60S / T60S[0], rtol=0.15)


def test_bad_input_is_rejected():
    with pytest.raises(ParameterError, match="silent"):
        estimate_modes(np.zeros(4000), SR)
    with pytest.raises(ParameterError, match="max_modes"):
        estimate_modes(np.ones(4000), SR, max_modes=0)


def test_cli_writes_a_loadable_preset(tmp_path, rng):
    from atomsynth.commands import preset_from

    def main(argv):
        """Run the subcommand as the CLI does (parser of this command only)."""
        import argparse

        from atomsynth.rt.errors import AtomsynthError

        parser = argparse.ArgumentParser()
        preset_from.add_arguments(parser)
        try:
            return preset_from.run(parser.parse_args(argv[1:]))
        except AtomsynthError:
            return 2
    from atomsynth.rt.audio_io import write_audio

    wav = tmp_path / "bell.wav"
    write_audio(wav, strike(rng)[None, :] * 0.5, SR)
    out = tmp_path / "my_bell.json"
    assert main(["preset-from", str(wav), "-o", str(out), "--max-modes", "8"]) == 0
    table = load_mode_table(out)
    assert len(table) == FREQS.size
    doc = json.loads(out.read_text())
    assert doc["f0_hz"] == pytest.approx(FREQS[0], rel=0.005)
    assert main(["preset-from", str(tmp_path / "missing.wav"), "-o", str(out)]) == 2
