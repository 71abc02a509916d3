"""Issue 16, bounded memory: single-scale atomizing read in chunks gives the atoms of the
in-memory atomizer, and its Parseval SNR equals the SNR of the rendered atoms."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from atomsynth.offline.atomize_stream import atomize_file
from atomsynth.offline.atomizer import atomize
from atomsynth.offline.quality import snr_db
from atomsynth.rt.reference import render

SR = 22050


@pytest.fixture
def wav(tmp_path, rng):
    n = SR // 2 + 123
    t = np.arange(n) / SR
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)])
    x += 0.01 * rng.standard_normal(x.shape)
    path = tmp_path / "x.wav"
    sf.write(path, x.T, SR, subtype="DOUBLE")
    return path, x


@pytest.mark.parametrize("kw", [dict(keep_top=300), dict(threshold_db=30.0),
                                dict(keep_top=200, threshold_db=20.0), dict()])
@pytest.mark.parametrize("chunk_frames", [1, 3, 64])
def test_chunks_give_the_in_memory_atoms(wav, kw, chunk_frames):
    path, x = wav
    got, snr = atomize_file(path, scale=512, chunk_frames=chunk_frames, **kw)
    ref = atomize(x, SR, scale=512, **kw)
    assert got.mdct == ref.mdct and got.duration_s == ref.duration_s
    y = render(got, sample_rate=SR, duration_s=x.shape[1] / SR)
    assert snr == pytest.approx(snr_db(x, y), abs=1e-6)


def test_cli_single_scale_streams(wav, tmp_path, capsys):
    from atomsynth.cli import main
    from atomsynth.rt.atomfile import load

    path, x = wav
    out = tmp_path / "a.atoms"
    assert main(["atomize", str(path), "-o", str(out), "--single-scale", "--scales", "512",
                 "--atoms", "300", "--quiet"]) == 0
    assert "streamed" in capsys.readouterr().out
    assert load(out).mdct == atomize(x, SR, scale=512, keep_top=300).mdct
