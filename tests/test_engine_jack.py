"""The engine through a real PortAudio stream on a dummy JACK server (no sound card).

``jackd -d dummy`` paces the graph by the wall clock; the engine is a client of an audio
server process (``atomsynth serve``) whose PortAudio stream plays through PortAudio's JACK host
API, and a second PortAudio stream *in the server process* records it back
(``ServerClient.start_capture``; tests/support/jack_server.py starts the JACK server). The
recorder lives in the server's JACK client so that it runs in lockstep with the playback: two
JACK clients in two processes can be scheduled a period apart on a loaded machine, which would
shift the recording, not the playback. Its callback is a Numba cfunc like the player's. The set
plays for 20 s while another thread of *this* (the client) process does GUI-like Python work
and collects garbage.
"""

from __future__ import annotations

import gc
import json
import threading
import time

import numpy as np
import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.engine import Engine
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
PLAY_S = 20.0


def heavy_set() -> AtomSet:
    """2,000 atoms of 32 modes over 20 s: about 6,000 modes sounding at once."""
    rng = np.random.default_rng(20261121)
    n = 2000
    res = ResonantAtoms(
        onset_s=np.sort(rng.uniform(0.0, PLAY_S - 1.0, n)), f0_hz=rng.uniform(60, 1500, n),
        t60_s=rng.uniform(0.5, 1.5, n), n_modes=32, gain_db=rng.uniform(-45, -30, n),
        pan=rng.uniform(-1, 1, n), seed=rng.integers(0, 2**31, n),
        attack_s=rng.uniform(0.0005, 0.005, n))
    return AtomSet(sample_rate=SR, channels=2, resonant=res, duration_s=PLAY_S)


@pytest.fixture(scope="module")
def jack():
    try:
        with start_jack_dummy(sample_rate=SR, period=256, realtime=True) as server:
            yield server, True
            return
    except JackError:
        pass
    with start_jack_dummy(sample_rate=SR, period=256) as server:
        yield server, False


def gui_like_work(stop: threading.Event, eng: Engine, log: list) -> None:
    """Allocate, serialize and collect garbage the way a busy GUI thread would."""
    k = 0
    while not stop.is_set():
        junk = [{"i": i, "s": str(i) * 3, "l": list(range(20))} for i in range(2000)]
        json.dumps(junk[:200])
        stats = eng.stats()
        k += 1
        if k % 50 == 0:  # a full collection about every 0.5 s
            gc.collect()
            log.append(stats["position_s"])
        time.sleep(0.005)


def test_plays_20s_without_underflow_and_matches_offline(jack):
    server, realtime = jack
    aset = heavy_set()
    before = set(server.ports())
    eng = Engine(aset, device=find_jack_device("output"), block_size=256, ahead_blocks=16)
    eng.start()  # warms the kernels, opens the stream (transport paused: silence)
    stop = threading.Event()
    log: list = []
    worker = threading.Thread(target=gui_like_work, args=(stop, eng, log), daemon=True)
    try:
        ports = server.new_ports(before)
        assert len(ports) == 2, ports
        rec = record_server_output(server, eng.client, ports, sample_rate=SR,
                                   seconds=PLAY_S + 20.0)
        try:
            worker.start()
            t0 = time.monotonic()
            eng.play()
            while eng.playing and time.monotonic() - t0 < PLAY_S + 15:
                time.sleep(0.1)
            time.sleep(0.3)
        finally:
            stop.set()
            if worker.is_alive():
                worker.join()
            rec.close()
        stats = eng.stats()
    finally:
        eng.close()
    print(f"\nJACK playback (realtime={realtime}): {stats}")
    assert not eng.playing, "playback did not finish"
    assert len(log) >= 20  # the GUI-like thread really ran (and collected) during playback
    # The engine's own underflows: the callback always found a rendered block.
    assert stats["ring_misses"] == 0
    # JACK xruns of the dummy driver on a loaded machine (PortAudio's output_underflow flag)
    # are reported, not asserted (see tests/support/README.md); the loopback stays bit-exact.
    print(f"JACK xruns flagged by PortAudio: {stats['portaudio_underflows']}")
    captured = rec.data
    assert rec.hdr[3] == 0  # the recorder never ran out of room
    ref = eng.render_offline().T.astype(np.float32)
    lag = find_lag(captured, ref)
    seg = captured[lag : lag + ref.shape[0]]
    assert seg.shape == ref.shape
    # float32 through JACK and back: the samples are exactly the offline render's
    assert np.abs(seg - ref).max() <= 1e-7 * np.abs(ref).max()
    assert np.abs(ref).max() > 0.05


def _play_and_capture(server, eng, seconds: float):
    """Start ``eng``, record its two JACK ports while it plays to the end; the capture."""
    before = set(server.ports())
    eng.start()
    ports = server.new_ports(before)
    return play_to_end_and_record(server, eng, ports, sample_rate=server.sample_rate,
                                  seconds=seconds)


def test_22050_hz_set_plays_on_48k_server_at_device_rate(jack):
    """A set fitted at 22,050 Hz plays at the device's 48 kHz (resonant atoms are continuous in
    time): the capture equals the offline render at 48 kHz."""
    server, _ = jack
    rng = np.random.default_rng(7)
    n = 40
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(0.0, 1.5, n)),
                        f0_hz=rng.uniform(80, 4000, n), t60_s=rng.uniform(0.1, 0.6, n),
                        n_modes=8, gain_db=rng.uniform(-30, -20, n), pan=rng.uniform(-1, 1, n),
                        seed=rng.integers(0, 2**31, n))
    aset = AtomSet(sample_rate=22050, channels=2, resonant=res, duration_s=2.0)
    eng = Engine(aset, device=find_jack_device("output"), sample_rate=None, block_size=256,
                 ahead_blocks=16)
    assert eng.sample_rate == SR  # the device's rate, not the file's
    try:
        captured = _play_and_capture(server, eng, aset.length_s)
        stats = eng.stats()
    finally:
        eng.close()
    assert stats["ring_misses"] == 0
    ref = eng.render_offline().T.astype(np.float32)
    assert ref.shape[0] == int(np.ceil(aset.length_s * SR))
    lag = find_lag(captured, ref)
    seg = captured[lag : lag + ref.shape[0]]
    assert seg.shape == ref.shape
    assert np.abs(seg - ref).max() <= 1e-7 * np.abs(ref).max()
    assert np.abs(ref).max() > 0.05


def test_22050_hz_set_with_mdct_atoms_plays_on_48k_server(jack):
    """MDCT atoms of a 22,050 Hz set are synthesized on their grid and resampled in the
    server: the capture equals the offline reference at 48 kHz (same streaming resampler)."""
    from atomsynth.rt import MdctAtoms
    from atomsynth.rt.reference import render

    server, _ = jack
    rng = np.random.default_rng(11)
    n, m = 20, 80
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(0.0, 1.0, n)),
                        f0_hz=rng.uniform(80, 3000, n), t60_s=rng.uniform(0.1, 0.4, n),
                        n_modes=8, gain_db=rng.uniform(-30, -20, n), pan=rng.uniform(-1, 1, n),
                        seed=rng.integers(0, 2**31, n))
    md = MdctAtoms(scale=rng.choice([256, 2048], m), frame=rng.integers(0, 30, m),
                   bin=rng.integers(0, 120, m), channel=rng.integers(0, 2, m),
                   value=rng.normal(0, 0.3, m))
    aset = AtomSet(sample_rate=22050, channels=2, resonant=res, mdct=md, duration_s=1.5)
    eng = Engine(aset, device=find_jack_device("output"), sample_rate=None, block_size=256,
                 ahead_blocks=16)
    assert eng.sample_rate == SR
    try:
        captured = _play_and_capture(server, eng, aset.length_s)
        stats = eng.stats()
    finally:
        eng.close()
    assert stats["ring_misses"] == 0
    ref = render(aset, sample_rate=SR).T
    assert np.abs(render(aset.replace(resonant=ResonantAtoms.empty()), sample_rate=SR)).max(
        ) > 0.05
    lag = find_lag(captured, ref.astype(np.float32))
    seg = captured[lag : lag + ref.shape[0]]
    assert seg.shape == ref.shape
    # the synthesizer's float32 path (1e-5 of the peak) plus float32 through JACK
    assert np.abs(seg - ref).max() <= 1.2e-5 * np.abs(ref).max()
