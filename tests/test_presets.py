"""Resonance presets: every bundled table is physically sane and sourced; applying works."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atomsynth.cli import main
from atomsynth.rt import AtomSet, PresetError, ResonantAtoms
from atomsynth.rt.atomfile import load
from atomsynth.rt.modes import atom_modes
from atomsynth.rt.presets import (
    apply_preset,
    available_presets,
    get_preset,
    load_mode_table,
)
from atomsynth.rt.reference import render

REQUIRED = {"uniform_bar", "marimba", "xylophone", "vibraphone", "glockenspiel", "tubular_bell",
            "church_bell", "circular_membrane", "rectangular_plate", "stiff_string",
            "closed_tube", "wine_glass", "wood_block", "gong"}


def test_bundled_presets_are_complete_and_sourced():
    presets = available_presets()
    assert REQUIRED <= set(presets)
    for name, path in presets.items():
        t = load_mode_table(path)
        assert t.name == name
        assert len(t.source) > 20, f"{name}: the numbers need a source"
        assert t.ratios[0] == 1.0 and np.all(np.diff(t.ratios) > 0)
        assert len(t) >= 4


def test_known_physics():
    """Spot checks against closed forms: Bessel zeros, free-free beam roots, odd harmonics."""
    membrane = get_preset("circular_membrane")
    assert membrane.ratios[1] == pytest.approx(3.8317 / 2.4048, rel=1e-3)  # j11 / j01
    bar = get_preset("uniform_bar")
    assert bar.ratios[1] == pytest.approx((7.8532 / 4.7300) ** 2, rel=1e-3)
    tube = get_preset("closed_tube")
    np.testing.assert_allclose(tube.ratios[:4], [1, 3, 5, 7])
    marimba = get_preset("marimba")
    assert marimba.ratios[1] == pytest.approx(4.0, rel=0.01)  # tuned 1:4:10


def test_apply_preset_to_selection():
    s = AtomSet(resonant=ResonantAtoms(f0_hz=[200.0, 300.0, 400.0], group=[0, 1, 1]))
    bell = get_preset("church_bell")
    out = apply_preset(s, bell, s.resonant.group == 1)
    assert out.mode_tables == (bell,)
    assert out.resonant.preset.tolist() == [-1, 0, 0]
    assert out.resonant.n_modes.tolist()[1:] == [len(bell)] * 2
    bank = atom_modes(out.resonant, out.mode_tables, 48000)
    active = bank.active[1]
    np.testing.assert_allclose(bank.freq_hz[1, active] / 300.0, bell.ratios[: active.sum()])
    # applying the same table again reuses it
    again = apply_preset(out, "church_bell", [0])
    assert len(again.mode_tables) == 1 and again.resonant.preset.tolist() == [0, 0, 0]
    assert render(again).shape[0] == 2


def test_bad_preset_files(tmp_path):
    cases = {
        "notjson.json": "{",
        "missing.json": json.dumps({"name": "x", "ratios": [1, 2]}),
        "unsorted.json": json.dumps({"name": "x", "ratios": [1, 3, 2], "gains": [1, 1, 1],
                                     "decays": [1, 1, 1]}),
        "nan.json": '{"name": "x", "ratios": [1, NaN], "gains": [1, 1], "decays": [1, 1]}',
        "lengths.json": json.dumps({"name": "x", "ratios": [1, 2], "gains": [1],
                                    "decays": [1, 1]}),
    }
    for fname, text in cases.items():
        (tmp_path / fname).write_text(text)
        with pytest.raises(PresetError, match=fname):
            load_mode_table(tmp_path / fname)
    with pytest.raises(PresetError, match="unknown preset 'nope'"):
        get_preset("nope")


def test_cli_list_show_apply(tmp_path, capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert "church_bell" in listing and "modes" in listing
    assert main(["presets", "show", "gong"]) == 0
    assert "source:" in capsys.readouterr().out
    out = tmp_path / "vibes.atoms"
    assert main(["presets", "apply", "vibraphone", "marimba_phrase", "-o", str(out),
                 "--group", "0"]) == 0
    s = load(out)
    vib = [i for i, t in enumerate(s.mode_tables) if t.name == "vibraphone"][0]
    assert np.all(s.resonant.preset[s.resonant.group == 0] == vib)
    assert np.all(s.resonant.preset[s.resonant.group != 0] != vib)
