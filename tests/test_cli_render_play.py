"""``atomsynth render`` with the effects chain and through the streaming synthesizer, and
``atomsynth play`` error paths."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.cli import main
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import save
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.engine import render_through
from atomsynth.rt.reference import render
from atomsynth.rt.synth import StreamingSynth

SR = 48000


@pytest.fixture
def atom_file(tmp_path):
    atoms = ResonantAtoms(onset_s=[0.0, 0.1, 0.2], f0_hz=[220.0, 330.0, 440.0], t60_s=0.3,
                          gain_db=-6.0, room=[0, 1, -1], wet=[0.4, 0.3, 0.0], group=[0, 1, 1])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, room_names=("room", "hall"),
                   duration_s=0.8)
    path = tmp_path / "t.atoms"
    save(aset, path)
    return path, aset


def test_render_dry_is_the_reference(atom_file, tmp_path):
    path, aset = atom_file
    out = tmp_path / "dry.wav"
    assert main(["render", str(path), "-o", str(out), "--dry", "--quiet"]) == 0
    y, sr = read_audio(out)
    assert np.abs(y - render(aset)).max() < 1e-6


def test_render_with_rooms_matches_streaming_and_stems_sum(atom_file, tmp_path):
    path, aset = atom_file
    out = tmp_path / "wet.wav"
    stems = tmp_path / "stems"
    assert main(["render", str(path), "-o", str(out), "--quiet", "--stems", str(stems),
                 "--effect", "gain:gain_db=-3"]) == 0
    y, _ = read_audio(out)
    fx = EffectsBridge(sample_rate=SR, channels=2, room_names=aset.room_names)
    fx.add_effect("gain", gain_db=-3.0)
    live = render_through(StreamingSynth(aset), fx, block=256)
    assert np.abs(y - live).max() <= 1e-5 * np.abs(live).max()
    parts = [read_audio(p)[0] for p in sorted(stems.glob("0*.wav"))]
    assert len(parts) == 2
    assert np.abs(sum(parts) - y).max() < 1e-6
    assert np.abs(y - render(aset) * 10 ** (-3 / 20)).max() > 1e-3  # rooms audible


def test_render_fails_on_a_broken_plugin(atom_file, tmp_path, capsys):
    path, _ = atom_file
    out = tmp_path / "x.wav"
    assert main(["render", str(path), "-o", str(out), "--quiet",
                 "--plugin", str(tmp_path / "nope.vst3")]) == 1
    assert "nope.vst3" in capsys.readouterr().err
    assert not out.exists()


def test_play_without_device_lists_devices(atom_file, capsys, monkeypatch):
    from atomsynth.rt.server import devices

    monkeypatch.setattr(devices, "list_output_devices", lambda: [])
    path, _ = atom_file
    assert main(["play", str(path)]) == 1
    err = capsys.readouterr().err
    assert "no audio output device" in err and "available" in err


def test_render_cli_stream_matches_reference(tmp_path, capsys):
    from atomsynth.cli import main
    from atomsynth.rt.atomfile import save
    from atomsynth.rt.audio_io import read_audio

    atoms = ResonantAtoms(onset_s=[0.0, 0.1, 0.2], f0_hz=[220.0, 330.0, 440.0], t60_s=0.3,
                          gain_db=-6.0, group=[0, 1, 1], seed=[3, 4, 5])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=0.8)
    path = tmp_path / "t.atoms"
    save(aset, path)
    ref = render(aset)
    for precision, tol in (("float32", 1e-5), ("float64", 1e-7)):  # float32 WAV: ~6e-8
        out = tmp_path / f"{precision}.wav"
        assert main(["render", str(path), "-o", str(out), "--dry", "--stream", "--quiet",
                     "--precision", precision]) == 0
        y, _ = read_audio(out)
        assert np.abs(y - ref).max() <= tol * np.abs(ref).max()
        assert "real time" in capsys.readouterr().out
