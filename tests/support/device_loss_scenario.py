"""Kill the JACK server under a playing Engine, then start it again (run as a subprocess by
tests/test_server_devices.py; prints one JSON line of timings).

It runs in a process of its own because PortAudio's JACK host API may abort the process that
initialized it once its JACK server has been killed (see tests/support/jack_server.py).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())

from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.engine import Engine  # noqa: E402
from tests.support.jack_server import find_jack_device, start_jack_dummy  # noqa: E402


def wait(cond, timeout_s: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if cond():
            return time.monotonic()
        time.sleep(0.005)
    return None


def main() -> None:
    rng = np.random.default_rng(5)
    n = 200
    aset = AtomSet(sample_rate=48000, channels=2, duration_s=60.0, resonant=ResonantAtoms(
        onset_s=np.sort(rng.uniform(0, 59, n)), f0_hz=rng.uniform(100, 900, n), t60_s=0.5,
        n_modes=4, gain_db=-30.0))
    name = f"atomsynth-devloss-{os.getpid()}"
    out: dict = {}
    messages: list[tuple[float, str]] = []
    jack1 = start_jack_dummy(sample_rate=48000, period=256, name=name)
    server = jack1.__enter__()
    eng = Engine(aset, device=find_jack_device("output"))
    eng.on_server_lost = lambda m: messages.append((time.monotonic(), m))
    eng.start()
    eng.play()
    wait(lambda: eng.position_s > 1.0, 20.0)
    out["position_before_s"] = eng.position_s
    t_kill = time.monotonic()
    server.process.kill()
    server.process.wait()
    t = wait(lambda: any(m.startswith("device lost") for _, m in messages), 10.0)
    out["lost_noticed_after_s"] = None if t is None else t - t_kill
    out["lost_message"] = next((m for _, m in messages if m.startswith("device lost")), None)
    out["playing_while_lost"] = eng.playing
    # the JACK server comes back under the same name: playback resumes by itself
    os.environ["JACK_DEFAULT_SERVER"] = name
    jack2 = start_jack_dummy(sample_rate=48000, period=256, name=name, rescan=False)
    server2 = jack2.__enter__()
    t_back = time.monotonic()
    t = wait(lambda: any(m.startswith("audio device back") for _, m in messages), 30.0)
    out["resumed_after_s"] = None if t is None else t - t_back
    t = wait(lambda: eng.stats().get("position_s", 0) > out["position_before_s"] + 0.5, 10.0)
    out["advancing_again"] = t is not None
    out["ports"] = [p for p in server2.ports() if not p.startswith("system:")]
    t0 = time.monotonic()
    eng.close()
    out["close_s"] = time.monotonic() - t0
    print("RESULT " + json.dumps(out), flush=True)
    server2.stop()
    os._exit(0)  # no PortAudio termination against killed servers


if __name__ == "__main__":
    main()
