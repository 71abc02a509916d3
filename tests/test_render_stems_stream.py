"""Issue 16, ``render --stems`` streams: every stem and the mix are written block by block,
byte for byte what the in-memory path (render every stem, sum, write) writes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from atomsynth.cli import main
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import save
from atomsynth.rt.audio_io import write_audio
from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.replay import render_stems_with_controls, write_stems

SR = 48000


@pytest.fixture
def atom_file(tmp_path):
    atoms = ResonantAtoms(onset_s=[0.0, 0.1, 0.2, 0.35], f0_hz=[220.0, 330.0, 440.0, 550.0],
                          t60_s=0.3, gain_db=-6.0, room=[0, 1, -1, 0], wet=[0.4, 0.3, 0.0, 0.2],
                          group=[0, 1, 1, 3], pan=[-0.5, 0.0, 0.5, 0.2])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, room_names=("room", "hall"),
                   duration_s=0.5, group_names=("low", "high"))
    path = tmp_path / "t.atoms"
    save(aset, path)
    return path, aset


def _in_memory(aset, folder, out, effects, block, subtype):
    """The non-streaming path: every stem in memory, the mix their sum, then the files."""
    stems = render_stems_with_controls(aset, aset.groups, effects=effects, sample_rate=SR,
                                       n_rooms=len(aset.room_names), duration_s=aset.length_s,
                                       block=block, precision="float32")
    mix = np.sum(list(stems.values()), axis=0)
    write_audio(out, mix, SR, subtype=subtype)
    write_stems(folder, stems, aset, SR, mix=mix, subtype=subtype)


@pytest.mark.parametrize("extra,block,subtype", [
    ([], 256, "PCM_24"), (["--effect", "gain:gain_db=-3"], 4096, "PCM_24"), ([], 4096, "FLOAT"),
], ids=["dry-256-pcm24", "fx-4096-pcm24", "dry-4096-float"])
def test_streamed_stems_are_what_the_in_memory_path_writes(atom_file, tmp_path, extra, block,
                                                             subtype):
    path, aset = atom_file
    out, stems = tmp_path / "mix.wav", tmp_path / "stems"
    assert main(["render", str(path), "-o", str(out), "--stems", str(stems), "--stream",
                 "--block-size", str(block), "--subtype", subtype, "--quiet", *extra]) == 0

    def bridge():
        fx = EffectsBridge(sample_rate=SR, channels=2, room_names=aset.room_names)
        if extra:
            fx.add_effect("gain", gain_db=-3.0)
        return fx

    ref_out, ref_stems = tmp_path / "ref.wav", tmp_path / "ref"
    _in_memory(aset, ref_stems, ref_out, bridge, block, subtype)
    names = sorted(p.name for p in stems.iterdir())
    assert names == ["00_low.wav", "01_high.wav", "03_group_3.wav", "mix.wav"]
    assert names == sorted(p.name for p in ref_stems.iterdir())
    pairs = [(stems / n, ref_stems / n) for n in names] + [(out, ref_out)]
    for got, ref in pairs:
        if subtype == "PCM_24":  # no timestamped PEAK chunk: whole files compare
            assert got.read_bytes() == ref.read_bytes(), got.name
        else:  # float WAV headers hold the time of writing; the samples compare bit for bit
            a, b = sf.read(got, dtype="float32")[0], sf.read(ref, dtype="float32")[0]
            assert a.shape == b.shape and a.tobytes() == b.tobytes(), got.name
    assert np.abs(sf.read(out)[0]).max() > 0.1  # not silence
