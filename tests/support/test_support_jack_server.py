"""Self-tests for tests/support/jack_server.py (need jackd2 + libportaudio2)."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from tests.support.jack_server import (
    JACK_HOSTAPI_NAME,
    JackError,
    JackRecorder,
    find_jack_device,
    jack_missing_reason,
    play_and_capture,
    portaudio_info,
    start_jack_dummy,
)

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(jack_missing_reason() is not None, reason=str(jack_missing_reason())),
]

SR = 48000


@pytest.fixture(scope="module")
def jack_server():
    with start_jack_dummy(sample_rate=SR, period=256) as server:
        yield server


def test_server_lifecycle_and_portaudio_rescan():
    with start_jack_dummy(sample_rate=44100, period=128, name="atomsynth-lifecycle") as server:
        ports = server.ports()
        assert {"system:capture_1", "system:capture_2", "system:playback_1"} <= set(ports)
        assert JACK_HOSTAPI_NAME in portaudio_info()["hostapis"]
        import sounddevice as sd

        dev = sd.query_devices(find_jack_device("output"))
        assert dev["default_samplerate"] == 44100
        pid = server.process.pid
    assert server.process.poll() is not None
    # the named server is gone
    probe = subprocess.run(
        ["jack_lsp", "-s", "atomsynth-lifecycle"],
        capture_output=True,
        env={"JACK_NO_START_SERVER": "1", "PATH": "/usr/bin:/bin"},
    )
    assert probe.returncode != 0
    assert pid > 0
    assert JACK_HOSTAPI_NAME not in portaudio_info()["hostapis"]
    with pytest.raises(JackError):
        find_jack_device()


@pytest.mark.slow
def test_play_sine_5s_loopback_is_bit_exact(jack_server):
    t = np.arange(5 * SR) / SR
    sine = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    stereo = np.stack([sine, -0.25 * sine], axis=1)
    t0 = time.monotonic()
    res = play_and_capture(jack_server, stereo, samplerate=SR)
    wall = time.monotonic() - t0
    assert wall >= 5.0  # the dummy backend is paced by the wall clock
    assert set(res.blocksizes) == {256}
    np.testing.assert_array_equal(res.played, stereo)
    # The loopback runs inside PortAudio's own JACK client, so it stays
    # bit-exact even when the loaded machine causes an xrun (counted in
    # res.output_underflows); a playback test should report, not assert, those.
    np.testing.assert_array_equal(res.aligned, res.played)
    print(f"output_underflows={res.output_underflows} at frames {res.underflow_frames}")


def test_callback_generator_and_underflow_is_counted(jack_server):
    frames = SR // 2
    rng = np.random.default_rng(1)
    noise = rng.uniform(-0.5, 0.5, (frames, 2)).astype(np.float32)
    calls = {"n": 0}

    def fill(out, start):
        calls["n"] += 1
        if calls["n"] == 20:
            time.sleep(4 * 256 / SR)  # miss the deadline once -> JACK xrun
        chunk = noise[start : start + len(out)]
        out[: len(chunk)] = chunk
        out[len(chunk) :] = 0

    res = play_and_capture(jack_server, fill, samplerate=SR, frames=frames)
    assert res.output_underflows >= 1
    np.testing.assert_array_equal(res.played, noise)


def test_recorder_taps_a_stream_opened_elsewhere(jack_server):
    """How to capture an OutputStream owned by the code under test."""
    import sounddevice as sd

    period = 4800  # sawtooth with a known phase: sample n is (n % period) / period

    pos = {"n": 0}

    def callback(outdata, frames, time_info, status):
        n = pos["n"] + np.arange(frames)
        outdata[:, 0] = (n % period) / period
        outdata[:, 1] = -outdata[:, 0]
        pos["n"] += frames

    before = set(jack_server.ports())
    stream = sd.OutputStream(
        device=find_jack_device("output"), channels=2, samplerate=SR, dtype="float32",
        callback=callback,
    )  # fmt: skip
    out_ports = jack_server.new_ports(before)
    assert [p.split(":")[1][:4] for p in out_ports] == ["out_", "out_"]
    with stream:
        time.sleep(0.2)
        with JackRecorder(jack_server, out_ports) as rec:
            time.sleep(0.5)
    data = rec.data
    assert rec.ports and all(":in_" in p for p in rec.ports)
    assert len(data) >= 0.4 * SR
    # jack_connect runs once per port, so channels join a running stream a few
    # ms apart; compare from the moment both are connected.
    started = max(np.flatnonzero(data[:, ch])[0] for ch in range(2))
    seg = data[started:]
    first = int(round(float(seg[0, 0]) * period))
    expected = ((first + np.arange(len(seg))) % period / period).astype(np.float32)
    # contiguous: no frame dropped or repeated while recording
    np.testing.assert_array_equal(seg[:, 0], expected)
    np.testing.assert_array_equal(seg[:, 1], -expected)
