"""The command line: info, render (mix and stems), presets; errors exit 2 with a message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from atomsynth.cli import main
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import load, save
from atomsynth.rt.reference import render


@pytest.fixture
def small_file(tmp_path):
    atoms = ResonantAtoms(onset_s=[0.0, 0.1, 0.2], f0_hz=[220.0, 330.0, 440.0],
                          t60_s=[0.2, 0.3, 0.25], group=[0, 1, 1], pan=[-0.5, 0.0, 0.5],
                          gain_db=-6.0, seed=[1, 2, 3])
    path = tmp_path / "small.atoms"
    save(AtomSet(sample_rate=22050, channels=2, resonant=atoms, group_names=("low", "high")),
         path)
    return path


def test_help_lists_subcommands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("info", "render", "presets"):
        assert name in out


def test_info_json(small_file, capsys):
    assert main(["info", str(small_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["atoms"] == {"resonant": 3, "mdct": 0}
    assert [g["name"] for g in info["groups"]] == ["low", "high"]
    assert info["file_bitrate_bps"] == pytest.approx(small_file.stat().st_size * 8
                                                     / info["duration_s"])
    assert info["ranges"]["resonant"]["f0_hz"][:2] == [220.0, 440.0]


def test_render_mix_and_stems_sum(small_file, tmp_path, capsys):
    out, stems = tmp_path / "mix.wav", tmp_path / "stems"
    assert main(["render", str(small_file), "-o", str(out), "--stems", str(stems),
                 "--quiet"]) == 0
    mix, sr = sf.read(out, always_2d=True)
    assert sr == 22050 and mix.shape[1] == 2
    files = sorted(p.name for p in stems.iterdir())
    assert files == ["00_low.wav", "01_high.wav", "mix.wav"]
    total = sum(sf.read(stems / f, always_2d=True)[0] for f in files[:2])
    assert np.abs(total - mix).max() < 1e-6
    reference = render(load(small_file))
    assert np.abs(mix.T - reference).max() < 1e-6  # float WAV keeps float32 precision
    assert "rendered in" in capsys.readouterr().out


def test_render_other_rate_and_flac(small_file, tmp_path):
    out = tmp_path / "x.flac"
    assert main(["render", str(small_file), "-o", str(out), "--sample-rate", "44100",
                 "--quiet"]) == 0
    info = sf.info(out)
    assert info.samplerate == 44100 and info.subtype == "PCM_24"


def test_errors_exit_1_with_message(tmp_path, capsys):
    bad = tmp_path / "bad.atoms"
    bad.write_bytes(b"not an atom file at all, just bytes")
    assert main(["info", str(bad)]) == 1
    assert "not an atomsynth file" in capsys.readouterr().err
    assert main(["render", "no_such_example"]) == 1
    assert "no bundled example of that name" in capsys.readouterr().err
    assert main(["presets", "show", "no_such_preset"]) == 1
    assert "unknown preset" in capsys.readouterr().err
