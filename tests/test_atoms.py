"""Validation of the atom model: bad values are rejected with messages that name them."""

from __future__ import annotations

import numpy as np
import pytest

from atomsynth.rt import AtomSet, MdctAtoms, ParameterError, ResonantAtoms
from atomsynth.rt.burst import envelope_end
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS


def test_defaults_and_broadcast():
    a = ResonantAtoms(f0_hz=[100.0, 200.0, 300.0], gain_db=-6)
    assert len(a) == 3
    assert a.gain_db.tolist() == [-6.0] * 3
    for spec in RESONANT_PARAMS:
        assert a[spec.name].dtype == np.dtype(spec.dtype)
    with pytest.raises(ValueError):
        a.f0_hz[0] = 5.0  # read-only columns


@pytest.mark.parametrize(
    "column, value, fragment",
    [
        ("t60_s", np.nan, "t60_s = nan is not finite"),
        ("f0_hz", np.inf, "f0_hz = inf is not finite"),
        ("onset_s", -0.5, "onset_s = -0.5 is out of range"),
        ("pan", 1.5, "allowed range [-1.0, 1.0]"),
        ("n_modes", 65, "n_modes = 65 is out of range; allowed range [1, 64]"),
        ("n_modes", 2.5, "n_modes = 2.5 is not an integer"),
        ("seed", -1, "seed = -1 is out of range"),
        ("seed", 2**40, "is out of range"),
        ("brightness", 1.01, "brightness"),
    ],
)
def test_bad_values_name_atom_parameter_value_and_range(column, value, fragment):
    default = {s.name: s.default for s in RESONANT_PARAMS}[column]
    values = np.array([default, default, value],
                      dtype=np.int64 if isinstance(value, int) else np.float64)
    with pytest.raises(ParameterError) as err:
        ResonantAtoms(**{column: values})
    msg = str(err.value)
    assert "resonant atom 2" in msg and fragment in msg


def test_inconsistent_columns_and_unknown_names():
    with pytest.raises(ParameterError, match="inconsistent column lengths"):
        ResonantAtoms(f0_hz=[1.0, 2.0], t60_s=[1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="unknown parameter"):
        ResonantAtoms(freq=[1.0])
    with pytest.raises(ParameterError, match="must be numeric"):
        ResonantAtoms(f0_hz=["a"])
    with pytest.raises(ParameterError, match="1-D"):
        ResonantAtoms(f0_hz=np.ones((2, 2)))


def test_mdct_scale_and_bin_rules():
    with pytest.raises(ParameterError, match="scale = 1000 is not one of"):
        MdctAtoms(scale=[1000], bin=[0])
    with pytest.raises(ParameterError, match=r"bin = 64 is out of range; allowed \[0, 63\]"):
        MdctAtoms(scale=[128], bin=[64])
    m = MdctAtoms(scale=[128, 8192], bin=[63, 4095], value=[1.0, -2.0])
    assert len(m) == 2 and m.value.tolist() == [1.0, -2.0]
    assert [s.name for s in MDCT_PARAMS] == list(m.columns)


def test_atom_set_cross_checks():
    table = ModeTable("t", [1, 2.5], [1, 0.5], [1, 0.5])
    with pytest.raises(ParameterError, match="preset = 1 but the set has 1 mode table"):
        AtomSet(resonant=ResonantAtoms(preset=[0, 1]), mode_tables=(table,))
    with pytest.raises(ParameterError, match="room = 0 but the set has 0 room"):
        AtomSet(resonant=ResonantAtoms(room=[0]))
    with pytest.raises(ParameterError, match="channel = 2 but the set has 2 channel"):
        AtomSet(channels=2, mdct=MdctAtoms(channel=[2]))
    with pytest.raises(ParameterError, match="sample_rate = 1000"):
        AtomSet(sample_rate=1000)
    with pytest.raises(ParameterError, match="provenance must be JSON"):
        AtomSet(provenance={"x": object()})
    ok = AtomSet(resonant=ResonantAtoms(preset=[0, -1], room=[0, -1]), mode_tables=(table,),
                 room_names=("hall",), group_names=("drums",))
    assert ok.group_name(0) == "drums" and ok.group_name(5) == "group 5"


def test_edits_return_validated_copies():
    a = ResonantAtoms(f0_hz=[100.0, 200.0])
    b = a.with_columns([1], f0_hz=400.0)
    assert a.f0_hz.tolist() == [100.0, 200.0] and b.f0_hz.tolist() == [100.0, 400.0]
    with pytest.raises(ParameterError, match="resonant atom 1: t60_s"):
        a.with_columns([1], t60_s=-1.0)
    both = ResonantAtoms.concat([a, b])
    assert len(both) == 4 and both.select([3]).f0_hz[0] == 400.0


def test_extent_covers_decay_to_minus_100_db():
    s = AtomSet(sample_rate=48000, channels=1,
                resonant=ResonantAtoms(onset_s=[1.0], t60_s=[0.6], n_modes=1, damping=0.0))
    burst_s = 0.002 * envelope_end(2.0)  # default attack_s and burst_shape
    assert s.end_s() == pytest.approx(1.0 + burst_s + 0.6 * 100 / 60, abs=2 / 48000)
