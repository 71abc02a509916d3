"""A JACK server killed under playback: reported within 1 s, closing never hangs, and playback
resumes by itself when the JACK server returns (real jackd, real audio server processes); a
JACK server started later is found by a rescan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.jack_server import jack_missing_reason, start_jack_dummy

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(jack_missing_reason() is not None, reason=str(jack_missing_reason())),
]

ROOT = Path(__file__).resolve().parents[1]


def test_killed_jackd_is_reported_within_1s_and_playback_resumes_when_it_returns():
    proc = subprocess.run([sys.executable, "tests/support/device_loss_scenario.py"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    r = json.loads(lines[0][len("RESULT "):])
    print(f"\njackd killed: {r}")
    assert r["lost_noticed_after_s"] is not None and r["lost_noticed_after_s"] < 1.0
    assert "device lost" in r["lost_message"]
    assert r["playing_while_lost"]  # the transport waits for the device, it is not stopped
    assert r["resumed_after_s"] is not None
    assert r["advancing_again"]
    assert len([p for p in r["ports"] if ":out_" in p]) == 2  # the new stream's ports
    assert r["close_s"] < 1.5


def test_rescan_finds_a_jack_server_started_later():
    """A JACK server started after PortAudio was initialized appears after a rescan, without
    restarting the process."""
    from atomsynth.rt.server.devices import (
        initialize_portaudio,
        rescan_output_devices,
        terminate_portaudio,
    )

    def jack_outputs(devices):
        return [d for d in devices if "JACK" in d["hostapi"]]

    name = f"atomsynth-rescan-{os.getpid()}"
    saved = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name  # no such server yet
    try:
        assert not jack_outputs(rescan_output_devices())
        with start_jack_dummy(sample_rate=48000, period=256, name=name, rescan=False):
            from atomsynth.rt.engine import list_output_devices

            assert not jack_outputs(list_output_devices())  # the old scan
            found = jack_outputs(rescan_output_devices())
            assert found and found[0]["default_samplerate"] == 48000
            levels = terminate_portaudio()  # close our JACK client while jackd runs
        initialize_portaudio(levels)
    finally:
        if saved is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = saved
