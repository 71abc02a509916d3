"""Fitting: analysis, the segment-wise fit, determinism, and the fit / fit-batch / eval
commands. Tiny signals (0.25 s at 16 kHz, a few steps) keep this under a minute on two cores."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from atomsynth.offline.analysis import detect_onsets, initial_atoms  # noqa: E402
from atomsynth.offline.fit import FitConfig, fit_audio, resolve_device  # noqa: E402
from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.atomfile import load, to_bytes  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.errors import AtomsynthError, ParameterError  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402

SR = 16000
TRUE = ResonantAtoms(onset_s=[0.01, 0.12], f0_hz=[440.0, 660.0], t60_s=[0.4, 0.3],
                     n_modes=[4, 3], gain_db=[-6.0, -10.0], brightness=0.6, seed=[5, 6],
                     noise_hz=[800.0, 1000.0], noise_bw_hz=1500.0)


def target(channels: int = 1, seconds: float = 0.25) -> np.ndarray:
    return render(AtomSet(sample_rate=SR, channels=channels, resonant=TRUE), duration_s=seconds)


def run_command(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    try:
        return module.run(parser.parse_args(argv))
    except AtomsynthError:
        return 2


# ----------------------------------------------------------------------------------- analysis
def test_analysis_finds_onsets_and_fundamentals():
    x = target()[0]
    onsets = detect_onsets(x, SR)
    assert any(abs(o - 0.01) < 0.02 for o in onsets)
    assert any(abs(o - 0.12) < 0.02 for o in onsets)
    atoms = initial_atoms(x, SR, n_atoms=4)
    f0 = np.sort(atoms.f0_hz)
    assert any(abs(f / 440.0 - 1) < 0.01 for f in f0)
    assert any(abs(f / 660.0 - 1) < 0.01 for f in f0)
    assert len(atoms) <= 4


# ------------------------------------------------------------------------------------- losses


def test_fit_options_are_validated():
    with pytest.raises(ParameterError, match="atoms_per_second"):
        FitConfig(atoms_per_second=0.0)
    with pytest.raises(ParameterError, match="device"):
        resolve_device("tpu")
    with pytest.raises(ParameterError, match="audio"):
        fit_audio(np.zeros((1, 0)), SR)


# ---------------------------------------------------------------------------------------- fit
CFG = FitConfig(atoms_per_second=16, iterations=6, segment_s=0.125, overlap_s=0.05,
                max_modes=6, sample_rate=SR, seed=3, fft_sizes=(512, 256, 128))


@pytest.fixture(scope="module")
def fitted():
    return fit_audio(target(channels=2), SR, CFG)


def test_fit_improves_and_covers_segments(fitted):
    atom_set, report = fitted
    assert report.segments == 2
    assert report.iterations == 12
    assert all(f < i for i, f in zip(report.initial_loss, report.final_loss, strict=True))
    assert atom_set.channels == 2 and atom_set.sample_rate == SR
    assert 1 <= len(atom_set.resonant) <= 4
    out = render(atom_set)
    assert out.shape == (2, int(0.25 * SR)) and np.isfinite(out).all() and np.abs(out).max() > 0


def test_fit_is_deterministic_on_cpu(fitted):
    again, _ = fit_audio(target(channels=2), SR, CFG)
    assert to_bytes(again) == to_bytes(fitted[0])


def test_many_channels_fit_as_stereo_downmix():
    """Three channels are fitted as the stereo downmix (even channels left, odd right, scaled by
    1/sqrt(channels / 2)): the very atoms that fitting that stereo signal gives."""
    t = target()[0]
    x = np.stack([t, 0.25 * t, 0.5 * t])
    cfg = FitConfig(**{**CFG.__dict__, "iterations": 1})
    atom_set, _ = fit_audio(x, SR, cfg)
    by_hand = np.stack([t + 0.5 * t, 0.25 * t]) / np.sqrt(3 / 2)
    expected, _ = fit_audio(by_hand, SR, cfg)
    assert atom_set.channels == 2 and len(atom_set.resonant) >= 1
    assert to_bytes(atom_set) == to_bytes(expected)
    # left carries 6x the amplitude of right: the one optimizer step moves every pan (which
    # starts centred) towards the left
    assert np.all(atom_set.resonant.pan < 0)


# ---------------------------------------------------------------------------- the commands
def test_fit_and_eval_commands(tmp_path):
    from atomsynth.commands import eval as eval_cmd
    from atomsynth.commands import fit

    wav = tmp_path / "in.wav"
    write_audio(wav, target(), SR)
    out = tmp_path / "in.atoms"
    argv = [str(wav), "-o", str(out), "--iterations", "2", "--sample-rate", str(SR),
            "--segment", "0.25", "--quiet"]
    assert run_command(fit, argv) == 0
    assert len(load(out).resonant) >= 1
    png = tmp_path / "plot.png"
    assert run_command(eval_cmd, [str(wav), str(out), "--no-visqol", "--plot", str(png)]) == 0
    from PIL import Image

    with Image.open(png) as img:  # figsize (11, 7) inches at 110 dpi
        assert img.size == (1210, 770)
        rgb = np.asarray(img.convert("RGB")).astype(int)
    # the atoms are drawn in cyan over both spectrograms (reference on top, decoded below)
    cyan = (rgb[..., 0] < 120) & (rgb[..., 1] > 180) & (rgb[..., 2] > 180)
    assert cyan[:385].sum() > 50 and cyan[385:].sum() > 50
    # and the spectrograms are images, not blank axes: many distinct colours
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200
    assert run_command(eval_cmd, [str(wav), str(wav), "--no-visqol"]) == 0
    assert run_command(fit, [str(tmp_path / "missing.wav"), "-o", str(out)]) == 2
    assert run_command(fit, argv + ["--device", "cuda:7"]) == (
        0 if torch.cuda.device_count() > 7 else 2)


def test_fit_batch_is_resumable(tmp_path):
    from atomsynth.commands import fit_batch

    src = tmp_path / "corpus"
    (src / "a").mkdir(parents=True)
    write_audio(src / "a" / "one.wav", target(seconds=0.2), SR)
    write_audio(src / "two.flac", target(seconds=0.15), SR)
    (src / "notes.txt").write_text("not audio")
    out = tmp_path / "out"
    argv = [str(src), "-o", str(out), "--iterations", "1", "--sample-rate", str(SR),
            "--quiet", "--jobs"]
    assert run_command(fit_batch, argv + ["1"]) == 0
    first = (out / "a" / "one.atoms").stat().st_mtime_ns
    assert (out / "two.atoms").exists() and (out / "a" / "one.json").exists()
    (out / "two.atoms").unlink()  # as if the run had crashed before this file
    assert run_command(fit_batch, argv + ["1"]) == 0
    assert (out / "two.atoms").exists()
    assert (out / "a" / "one.atoms").stat().st_mtime_ns == first  # skipped, not refitted


@pytest.mark.slow
def test_fit_batch_in_worker_processes(tmp_path):
    """Two spawned worker processes (slow: each imports torch)."""
    from atomsynth.commands import fit_batch

    src = tmp_path / "corpus"
    src.mkdir()
    for i in range(2):
        write_audio(src / f"f{i}.wav", target(seconds=0.1 + 0.05 * i), SR)
    out = tmp_path / "out"
    argv = [str(src), "-o", str(out), "--iterations", "1", "--sample-rate", str(SR), "--quiet",
            "--jobs", "2"]
    assert run_command(fit_batch, argv) == 0
    assert len(load(out / "f0.atoms").resonant) >= 1 and (out / "f1.atoms").exists()


def test_fit_batch_ray_missing_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    from atomsynth.offline import batch

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    src = tmp_path / "c"
    src.mkdir()
    write_audio(src / "x.wav", target(seconds=0.1), SR)
    with pytest.raises(AtomsynthError, match="pip install"):
        batch.fit_corpus(src, tmp_path / "o", CFG, ray_address="auto")
