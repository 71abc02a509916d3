"""Hypothesis strategies over the writer's whole domain: every AtomSet the containers accept.

Shared by the round-trip property test and the fuzz campaign (benchmarks/fuzz_inputs.py).
Values are drawn from each parameter's full range, edges included, with the awkward cases
(0.0, subnormals, the largest frame a set may hold, lone surrogates and infinities that the
containers must refuse) mixed in.
"""

from __future__ import annotations

from hypothesis import strategies as st

from atomsynth.rt import AtomSet
from atomsynth.rt.atoms import MAX_TIME_S, MdctAtoms, ResonantAtoms
from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.params import MDCT_PARAMS, MDCT_SCALES, RESONANT_PARAMS
from atomsynth.rt.presets import available_presets, load_mode_table

_TEXT = st.text(min_size=1, max_size=12)  # includes lone surrogates: the containers refuse them
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63),
                       st.floats(allow_nan=False, width=64), _TEXT)
_JSON = st.recursive(_JSON_LEAF, lambda c: st.one_of(st.lists(c, max_size=3),
                                                      st.dictionaries(_TEXT, c, max_size=3)),
                     max_leaves=8)


def _column(spec, n):
    if spec.is_integer:
        elem = st.integers(int(spec.lo), int(spec.hi))
    else:
        elem = st.one_of(st.floats(spec.lo, spec.hi, allow_nan=False),
                         st.sampled_from([spec.lo, spec.hi, spec.default]))
    return st.lists(elem, min_size=n, max_size=n)


@st.composite
def resonant_atoms(draw, n_tables: int, n_rooms: int) -> ResonantAtoms:
    n = draw(st.integers(0, 6))
    cols = {}
    for spec in RESONANT_PARAMS:
        cols[spec.name] = draw(_column(spec, n))
    cols["preset"] = draw(st.lists(st.integers(-1, n_tables - 1), min_size=n, max_size=n))
    cols["room"] = draw(st.lists(st.integers(-1, n_rooms - 1), min_size=n, max_size=n))
    return ResonantAtoms(n, **cols)


@st.composite
def mdct_atoms(draw, sample_rate: int, channels: int) -> MdctAtoms:
    n = draw(st.integers(0, 8))
    scale = draw(st.lists(st.sampled_from(MDCT_SCALES), min_size=n, max_size=n))
    frame, bins = [], []
    for s in scale:
        last = int(MAX_TIME_S * sample_rate) // (s // 2) + 1
        frame.append(draw(st.one_of(st.integers(0, 64), st.integers(0, last),
                                    st.sampled_from([last, last - 1]))))
        bins.append(draw(st.integers(0, s // 2 - 1)))
    vspec = next(p for p in MDCT_PARAMS if p.name == "value")
    value = draw(st.lists(st.one_of(st.floats(vspec.lo, vspec.hi, allow_nan=False),
                                    st.sampled_from([0.0, -0.0, 5e-324, -1e6, 1e6, 1e-300])),
                          min_size=n, max_size=n))
    return MdctAtoms(n, scale=scale, frame=frame, bin=bins,
                     channel=draw(st.lists(st.integers(0, channels - 1), min_size=n, max_size=n)),
                     value=value,
                     group=draw(st.lists(st.sampled_from([0, 1, 65535]), min_size=n, max_size=n)))


def _quantization():
    return st.fixed_dictionaries({
        "n_levels": st.one_of(st.integers(-2, 70000), st.sampled_from([2, 64, 65536])),
        "range_db": st.one_of(st.floats(allow_nan=True), st.sampled_from([1.0, 96.0, 400.0])),
        "ref": st.one_of(st.none(), st.floats(allow_nan=True), st.sampled_from([1e6, 1e7])),
    })


@st.composite
def atom_sets(draw) -> AtomSet:
    """Any AtomSet the containers accept (draws the containers refuse are rejected)."""
    from hypothesis import reject

    sample_rate = draw(st.sampled_from([8000, 22050, 44100, 48000, 384000]))
    channels = draw(st.sampled_from([1, 2, 3, 64]))
    names = list(available_presets())
    tables = tuple(load_mode_table(available_presets()[k])
                   for k in draw(st.lists(st.sampled_from(names), max_size=2)))
    rooms = tuple(draw(st.lists(_TEXT, max_size=2)))
    provenance = draw(st.dictionaries(_TEXT, _JSON, max_size=3))
    if draw(st.booleans()):
        provenance["mdct_quantization"] = draw(_quantization())
    duration = draw(st.one_of(st.none(), st.floats(0.0, 86400.0)))
    try:
        return AtomSet(
            sample_rate=sample_rate, channels=channels,
            resonant=draw(resonant_atoms(max(len(tables), 0), len(rooms))),
            mdct=draw(mdct_atoms(sample_rate, channels)),
            duration_s=duration, mode_tables=tables,
            group_names=tuple(draw(st.lists(_TEXT, max_size=2))), room_names=rooms,
            provenance=provenance)
    except AtomsynthError:
        reject()


__all__ = ["atom_sets"]
