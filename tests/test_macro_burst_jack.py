"""Issue 16, a burst of 20,000 macro moves on a running engine (a client of an audio server
playing through a dummy JACK server, as tests/test_engine_jack.py): no edit is refused, no
ring miss, and the macro's final value is what plays (the capture equals the offline render
with that value). The client holds a move that finds its command ring full, newest per
macro, and sends it when there is room; the server's edit queue coalesces the same way."""

from __future__ import annotations

import time

import numpy as np
import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.engine import Engine
from atomsynth.rt.reference import render
from tests.support.jack_server import (
    JackError,
    find_jack_device,
    find_lag,
    jack_missing_reason,
    play_to_end_and_record,
    record_server_output,
    start_jack_dummy,
)

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(jack_missing_reason() is not None, reason=str(jack_missing_reason())),
]

SR = 48000
FIRST_ONSET_S = 3.0
N_EDITS = 20_000
FINAL_PITCH = 1.5


@pytest.fixture(scope="module")
def jack():
    try:
        with start_jack_dummy(sample_rate=SR, period=256, realtime=True) as server:
            yield server
            return
    except JackError:
        pass
    with start_jack_dummy(sample_rate=SR, period=256) as server:
        yield server


def test_20000_macro_moves_while_playing(jack):
    server = jack
    rng = np.random.default_rng(16)
    n = 30
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(FIRST_ONSET_S, FIRST_ONSET_S + 0.8, n)),
                        f0_hz=rng.uniform(100, 2000, n), t60_s=rng.uniform(0.1, 0.4, n),
                        n_modes=8, gain_db=rng.uniform(-30, -20, n), pan=rng.uniform(-1, 1, n),
                        seed=rng.integers(0, 2**31, n))
    aset = AtomSet(sample_rate=SR, channels=2, resonant=res, duration_s=FIRST_ONSET_S + 1.5)
    eng = Engine(aset, device=find_jack_device("output"), block_size=256, ahead_blocks=16)
    try:
        before = set(server.ports())
        eng.start()
        ports = server.new_ports(before)
        assert len(ports) == 2, ports
        rec = record_server_output(server, eng.client, ports, sample_rate=SR,
                                   seconds=aset.duration_s + 10.0)
        try:
            t0 = time.monotonic()
            eng.play()
            values = np.linspace(0.5, 2.0, N_EDITS)
            values[-1] = FINAL_PITCH
            for value in values:  # as fast as Python sends: far faster than blocks render
                eng.set_macro("pitch", float(value))
            burst_s = time.monotonic() - t0
            while eng.client.held and time.monotonic() - t0 < FIRST_ONSET_S:
                time.sleep(0.01)
            flushed_s = time.monotonic() - t0
            while eng.playing and time.monotonic() - t0 < aset.duration_s + 10:
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            rec.close()
        stats = eng.stats()
        coalesced_client = eng.client.coalesced
    finally:
        eng.close()
    print(f"\nburst of {N_EDITS} macro moves sent in {burst_s:.3f} s, all in the ring after "
          f"{flushed_s:.3f} s; client coalesced {coalesced_client}; stats {stats}")
    # the whole burst reached the server before the first atom sounds (else the test says
    # nothing about which value is heard)
    assert flushed_s < FIRST_ONSET_S - 0.5
    assert stats["edits_refused"] == 0
    assert stats["ring_misses"] == 0
    assert not eng.playing
    assert eng.controls.macros == {"pitch": FINAL_PITCH}
    assert rec.hdr[3] == 0
    ref = eng.render_offline().T.astype(np.float32)  # the final controls, from the start
    captured = rec.data
    lag = find_lag(captured, ref)
    seg = captured[lag : lag + ref.shape[0]]
    assert seg.shape == ref.shape
    assert np.abs(seg - ref).max() <= 1e-7 * np.abs(ref).max()
    assert np.abs(ref).max() > 0.05
    # and the final value is audible: without the macro the set sounds different
    neutral = render(aset).T
    assert np.abs(neutral - ref).max() > 0.1 * np.abs(ref).max()


def test_moves_that_find_the_command_ring_full_are_held_not_refused(jack):
    """The server stopped (SIGSTOP) for the length of a burst larger than its command ring
    (2,048): the client holds the newest move, nothing is refused, and once the server runs
    again the final value arrives and plays."""
    import os
    import signal

    from atomsynth.rt.server.protocol import CMD_CAPACITY

    server = jack
    res = ResonantAtoms(onset_s=[0.3, 0.5], f0_hz=[300.0, 700.0], t60_s=0.3, n_modes=4,
                        gain_db=-20.0)
    aset = AtomSet(sample_rate=SR, channels=2, resonant=res, duration_s=1.2)
    eng = Engine(aset, device=find_jack_device("output"), block_size=256, ahead_blocks=16)
    try:
        before = set(server.ports())
        eng.start()
        ports = server.new_ports(before)
        client = eng.client
        os.kill(client.pid, signal.SIGSTOP)
        try:
            for value in np.linspace(0.5, 2.0, 2 * CMD_CAPACITY):
                eng.set_macro("pitch", float(value))
            eng.set_macro("pitch", FINAL_PITCH)
            held, coalesced, refused = client.held, client.coalesced, client.refused
        finally:
            os.kill(client.pid, signal.SIGCONT)
        t0 = time.monotonic()
        while client.held and time.monotonic() - t0 < 5.0:
            time.sleep(0.01)
        assert client.held == 0
        ref = eng.render_offline().T.astype(np.float32)
        captured = _play_and_capture(server, eng, ports, aset.duration_s)
        stats = eng.stats()
    finally:
        eng.close()
    print(f"\nwhile stopped: held {held}, coalesced {coalesced}, refused {refused}; {stats}")
    assert held == 1 and coalesced >= CMD_CAPACITY - 1 and refused == 0
    assert stats["edits_refused"] == 0
    lag = find_lag(captured, ref)
    seg = captured[lag : lag + ref.shape[0]]
    assert seg.shape == ref.shape
    assert np.abs(seg - ref).max() <= 1e-7 * np.abs(ref).max()
    assert np.abs(ref).max() > 0.05


def _play_and_capture(server, eng, ports, seconds: float) -> np.ndarray:
    """Record ``eng``'s two JACK ``ports`` while it plays to the end (it is started)."""
    return play_to_end_and_record(server, eng, ports, sample_rate=SR, seconds=seconds)
