"""A JACK server killed under playback: reported within 1 s, closing never hangs, and playback
resumes by itself when the JACK server returns (real jackd, real audio server processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.jack_server import jack_missing_reason

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
