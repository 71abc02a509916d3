"""The synthesizer's typed records and the kernel warm-up derived from them."""

from __future__ import annotations

import numpy as np

from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt import synth_kernels as K
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.synth import StreamingSynth
from atomsynth.rt.synth_state import SlotState, new_slot_list, new_slot_state

SR = 48000


def _signatures() -> dict[str, list]:
    return {name: list(getattr(K, name).signatures) for name in K.__all__
            if hasattr(getattr(K, name), "signatures")}


def test_warm_kernels_compiles_what_the_synth_calls():
    """After warm_kernels(), a synth that starts, seeks, retunes, moves macros, fills and
    compacts its burst arena, uses and empties the steady bank and plays MDCT frames compiles
    nothing new:
    the warm-up's argument types are the synthesizer's."""
    K.warm_kernels()
    before = _signatures()
    assert before["render_block"] and before["bank_evict"] and before["retune_slots"]
    rng = np.random.default_rng(5)
    n = 40
    table = ModeTable("bar", ratios=[1.0, 2.76, 5.4], gains=[1.0, 0.6, 0.4],
                      decays=[1.0, 0.7, 0.5])
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 0.3, n)), f0_hz=rng.uniform(100, 900, n),
                        t60_s=1.0, n_modes=8, attack_s=0.04, seed=np.arange(n),
                        preset=rng.choice([-1, 0], n))
    md = MdctAtoms(scale=[256, 256], frame=[3, 9], bin=[5, 7], channel=[0, 1], value=[0.3, -0.2])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=res, mdct=md, duration_s=0.8,
                   mode_tables=(table,))
    s = StreamingSynth(aset)
    s.set_macro("brightness", 1.5)
    s.run_pending()
    s.render(8192)
    s.set_atoms(np.arange(0, n, 3), gain_db=-20.0, preset=0)
    s.render(8192)
    s.set_macro("pitch", 1.2)
    s.seek(0.2)
    s.render_all(duration_s=0.4, block=1024)
    assert s.modes_in_bank > 0
    s.set_macro("decay", 1.5)
    s.run_pending()  # evicts the bank's slots (bank_evict) and re-tunes every slot
    assert s.modes_in_bank == 0
    s.render(4096)
    assert _signatures() == before


def test_records_grow_keeping_their_slots():
    st = new_slot_state(4)
    assert st._fields == SlotState._fields and all(isinstance(a, np.ndarray) for a in st)
    st.state_re[3, 5] = 1.5
    st.fast[2, 4, 1] = 0.25
    st.in_bank[1] = True
    grown = new_slot_state(8, st)
    assert grown.state_re.shape == (8, 64) and grown.fast.dtype == np.float32
    assert grown.state_re[3, 5] == 1.5 and grown.fast[2, 4, 1] == np.float32(0.25)
    assert grown.in_bank[1] and not grown.in_bank[5]
    lists = new_slot_list(4)
    assert lists.n_free[0] == 4 and lists.free[3] == 0  # lowest slot on top of the stack
    lists.active[0], lists.n_active[0] = 0, 1
    lists.n_free[0] = 3
    more = new_slot_list(8, lists)
    assert more.n_active[0] == 1 and more.active[0] == 0
    assert sorted(more.free[: more.n_free[0]].tolist()) == [1, 2, 3, 4, 5, 6, 7]
