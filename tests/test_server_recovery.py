"""The audio server dies (kill -9): the client notices within 1 s, starts a new server and
restores the atom set, position, macros, mixer and effects; the Qt/torch-free server process.

Real parts: ``atomsynth serve`` processes, a dummy JACK server, SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.engine import Engine
from tests.support.jack_server import find_jack_device, jack_missing_reason, start_jack_dummy

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(jack_missing_reason() is not None, reason=str(jack_missing_reason())),
]


def _set() -> AtomSet:
    rng = np.random.default_rng(11)
    n = 300
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 9.0, n)), f0_hz=rng.uniform(100, 900, n),
                        t60_s=0.8, n_modes=6, gain_db=-30.0, group=rng.integers(0, 3, n))
    return AtomSet(sample_rate=48000, channels=2, resonant=res, duration_s=10.0)


@pytest.fixture(scope="module")
def jack():
    with start_jack_dummy(sample_rate=48000, period=256) as server:
        yield server


def _wait(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_server_imports_neither_qt_nor_torch(jack):
    """The server's address space has no Qt or torch library mapped, and its collector is
    frozen and off while it plays."""
    eng = Engine(_set(), device=find_jack_device("output"))
    eng.start()
    try:
        pid = eng.client.pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "libtorch" not in maps and "libQt6" not in maps and "PySide6" not in maps
        assert "libportaudio" in maps  # the map really is the audio server's
        assert eng.stats()["gc_mode"] == "frozen, automatic collection off"
        assert pid != os.getpid()
    finally:
        eng.close()


def test_kill_9_is_noticed_within_1s_and_state_restored(jack):
    aset = _set()
    eng = Engine(aset, device=find_jack_device("output"), ahead_blocks=8)
    lost: list[str] = []
    eng.on_server_lost = lost.append
    eng.start()
    try:
        eng.set_macro("pitch", 1.25)
        eng.set_group(1, gain_db=-12.0, pan=0.5)
        eng.effects.add_effect("gain", gain_db=-3.0)
        eng.play()
        assert _wait(lambda: eng.position_s > 2.0, 10.0)
        old_pid = eng.client.pid
        pos_before = eng.position_s
        t_kill = time.monotonic()
        os.kill(old_pid, signal.SIGKILL)
        assert _wait(lambda: eng.recoveries, 15.0), "no recovery"
        rec = eng.recoveries[0]
        detected = rec["detected_at"] - t_kill
        restored = rec["restored_at"] - t_kill
        print(f"\nkill -9: noticed after {detected * 1000:.0f} ms, playing again after "
              f"{restored:.2f} s; {rec['message']}")
        assert detected < 1.0
        assert lost and "killed by signal 9" in lost[0]
        assert eng.client.pid != old_pid and eng.client.alive()
        # state restored: the transport resumes near where it was, with every control
        assert _wait(lambda: eng.stats().get("position_s", 0) > pos_before, 10.0)
        assert eng.playing
        assert abs(eng.stats()["position_s"] - pos_before) < restored + 1.0
        # the new server holds the same controls: its render equals ours (same code path)
        assert eng.client.server_info()["plugins"] == ""
        st = eng.stats()
        assert st["ring_misses"] == 0 and st["server_alive"]
    finally:
        eng.close()


def test_plugin_that_aborts_is_named_and_left_out_of_the_new_server(jack, tmp_path_factory):
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    if dpf_missing_reason() is not None:
        pytest.skip(dpf_missing_reason())
    crash = build_test_gain_plugin(tmp_path_factory.mktemp("dpf"), crash=True)
    eng = Engine(_set(), device=find_jack_device("output"), ahead_blocks=8)
    lost: list[str] = []
    eng.on_server_lost = lost.append
    eng.start()
    try:
        assert eng.effects.add_effect("gain", gain_db=-3.0) == 0
        idx = eng.effects.load_plugin(crash)
        assert idx == 1
        eng.set_macro("decay", 0.8)
        eng.set_group(2, mute=True)
        eng.effects.set_param(idx, "gain_db", 3.0)  # below the crash threshold: fine
        eng.play()
        assert _wait(lambda: eng.position_s > 1.0, 10.0)
        eng.sync()
        assert str(crash) in eng.client.server_info()["plugins"]
        old_pid = eng.client.pid
        t0 = time.monotonic()
        eng.effects.set_param(idx, "gain_db", 9.0)  # the plugin calls abort()
        assert _wait(lambda: eng.recoveries, 15.0), "no recovery"
        rec = eng.recoveries[0]
        print(f"\nplugin abort: noticed after {(rec['detected_at'] - t0) * 1000:.0f} ms "
              f"(from the edit), playing again after {rec['restored_at'] - t0:.2f} s; "
              f"{rec['message']}")
        assert rec["detected_at"] - t0 < 1.0
        assert rec["suspect"] == str(crash)
        assert lost and str(crash) in lost[0] and "killed by signal 6" in lost[0]
        assert eng.client.pid != old_pid and eng.client.alive()
        assert eng.skipped_plugins == [str(crash)]
        info = eng.client.server_info()
        assert info["plugins"] == ""  # the new server runs without it
        assert _wait(lambda: eng.stats().get("position_s", 0) > 1.0, 10.0)
        assert eng.playing
        # the rest of the chain and the controls are back; the client's own chain holds a
        # unity gain in the plugin's place, so the indices of the inserts stay the same
        assert [ins.kind for ins in eng.effects.chain] == ["gain", "gain"]
        assert eng.effects.parameters(0)["gain_db"] == pytest.approx(-3.0)
        assert eng.effects.parameters(1)["gain_db"] == 0.0
        assert eng.controls.macros == {"decay": 0.8} and eng.controls.groups == {2: {"mute": True}}
        # later changes meant for the plugin do not reach the unity gain: dropped with a note
        n_errors = len(eng.effects.errors)
        eng.effects.set_param(idx, "gain_db", 12.0)
        assert eng.effects.parameters(idx)["gain_db"] == 0.0
        assert "dropped" in eng.effects.errors[n_errors] and str(crash) in eng.effects.errors[
            n_errors]
        eng.sync()
        assert eng.client.alive() and eng.stats()["server_errors"] == []
    finally:
        eng.close()


def test_effects_spec_round_trip_keeps_builtin_effects_and_plugins(tmp_path_factory):
    """The chain crosses to the server as data: building it again gives the same inserts and
    parameter values, and the same output for the same input."""
    from atomsynth.rt.effects import EffectsBridge
    from atomsynth.rt.server import effects_spec
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    b = EffectsBridge(sample_rate=48000, channels=2)
    b.add_effect("gain", gain_db=-3.0)
    b.add_effect("lowpass", cutoff_frequency_hz=2000.0)
    if dpf_missing_reason() is None:
        b.load_plugin(build_test_gain_plugin(tmp_path_factory.mktemp("dpf")),
                      params={"gain_db": -6.0})
    spec = effects_spec.describe(b)
    n = effects_spec.build(spec, sample_rate=48000, channels=2)
    assert n.errors == []
    assert effects_spec.describe(n) == spec
    x = np.random.default_rng(0).standard_normal((1, 2, 4096)) * 0.1
    assert np.abs(n.process(x) - b.process(x)).max() <= 1e-6


def test_placeholder_of_a_left_out_plugin_drops_its_parameter_changes(tmp_path_factory):
    """The server's chain built without a plugin: the unity gain in its place keeps 0 dB when
    a change meant for the plugin arrives, and the change is reported as dropped."""
    from atomsynth.rt.server import effects_spec

    path = str(tmp_path_factory.mktemp("p") / "crashing.vst3")
    spec = {"rooms": [], "room_files": {},
            "inserts": [{"kind": "gain", "params": {"gain_db": -3.0}},
                        {"kind": "plugin", "path": path, "raw": {}, "params": {}}]}
    fx = effects_spec.build(spec, sample_rate=48000, channels=2,
                            skip_plugins=frozenset([path]))
    effects_spec.apply_change(fx, {"op": "set_param", "index": 1, "name": "gain_db",
                                   "value": 12.0})
    assert "dropped" in fx.errors[-1] and path in fx.errors[-1]
    x = np.full((1, 2, 256), 0.1)
    y = fx.process(x)
    assert np.allclose(y, 0.1 * 10 ** (-3.0 / 20), rtol=1e-6)  # the -3 dB only
    assert effects_spec.describe(fx)["inserts"][1]["path"] == path  # still that plugin
    assert fx.clone().is_placeholder(1)


def _jack_query(fn, tries: int = 3):
    """A JACK tool call right after a client was killed can fail to open its client while
    jackd is still removing the dead one; try again a few times."""
    from tests.support.jack_server import JackError

    for attempt in range(tries):
        try:
            return fn()
        except JackError:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


def test_jack_names_and_connections_survive_kill_9(jack):
    """Our JACK client keeps its name and port names across a restart, and the connections a
    user made to a recorder are made again on the new server."""
    from tests.support.jack_server import JackRecorder

    eng = Engine(_set(), device=find_jack_device("output"), ahead_blocks=8)
    eng.start()
    try:
        ours = sorted(p for p in jack.ports() if p.startswith("atomsynth:"))
        assert ours == ["atomsynth:out_0", "atomsynth:out_1"], jack.ports()
        assert eng.client.server_info()["jack_name"] == "atomsynth"
        with JackRecorder(jack, ours) as rec:
            wanted = {(src, dst) for src, dst in zip(ours, rec.ports, strict=True)}
            assert _wait(lambda: wanted <= {("atomsynth:" + a, b) for a, b in eng.jack_links},
                         5.0), eng.jack_links
            old_pid = eng.client.pid
            os.kill(old_pid, signal.SIGKILL)
            assert _wait(lambda: eng.recoveries, 15.0), "no recovery"
            assert eng.client.pid != old_pid
            assert sorted(p for p in _jack_query(jack.ports)
                          if p.startswith("atomsynth")) == ours
            links = _jack_query(jack.connections)
            for src, dst in wanted:
                assert dst in links.get(src, []), (src, links)
    finally:
        eng.close()


def test_new_room_names_keep_the_stream_and_the_transport(jack):
    """A set with new room names is swapped in: the stream stays open (its callback count
    goes on, the JACK ports and their connections stay), the transport goes on playing."""
    aset = _set().replace(room_names=("hall",))
    eng = Engine(aset, device=find_jack_device("output"), ahead_blocks=8)
    eng.start()
    try:
        ours = sorted(p for p in jack.ports() if p.startswith("atomsynth:"))
        jack.connect(ours[0], "system:playback_2")
        eng.play()
        assert _wait(lambda: eng.stats().get("position_s", 0) > 1.0, 10.0)
        pid, before = eng.client.pid, eng.stats()
        res = aset.resonant
        moved = res.with_columns(room=np.where(np.arange(len(res)) % 2 == 0, 1, 0))
        eng.set_atom_set(aset.replace(resonant=moved, room_names=("plate", "hall", "room")))
        time.sleep(1.0)
        after = eng.stats()
        assert eng.client.pid == pid and eng.playing
        assert after["callbacks"] > before["callbacks"]  # the same stream (it would restart)
        assert after["position_s"] > before["position_s"] + 0.5
        assert sorted(p for p in _jack_query(jack.ports) if p.startswith("atomsynth:")) == ours
        assert "system:playback_2" in _jack_query(jack.connections)[ours[0]]
        # (not asserted: loading new rooms can cost a few ring misses, see docs/server.md)
        assert [r.name for r in eng.effects.local.rooms] == ["plate", "hall", "room"]
    finally:
        eng.close()


def test_edits_during_a_restart_return_at_once_and_reach_the_new_server(jack):
    """While a new server starts after kill -9, edits return at once (the GUI is not held for
    the restart) and are sent to the new server after its restored state, in order."""
    aset = _set()
    eng = Engine(aset, device=find_jack_device("output"), ahead_blocks=8)
    eng.start()
    try:
        eng.play()
        assert _wait(lambda: eng.position_s > 1.0, 10.0)
        assert _wait(lambda: max(eng.stats()["levels_db"]) > -60.0, 5.0)
        old_pid = eng.client.pid
        os.kill(old_pid, signal.SIGKILL)
        assert _wait(lambda: eng.client is None, 2.0)  # the watchdog is restoring
        slowest = 0.0
        for g in range(3):
            t0 = time.monotonic()
            eng.set_group(g, mute=True)
            slowest = max(slowest, time.monotonic() - t0)
        t0 = time.monotonic()
        eng.seek(6.0)
        eng.set_macro("pitch", 1.5)
        slowest = max(slowest, time.monotonic() - t0)
        assert eng.client is None  # the edits came in while the server was starting
        assert _wait(lambda: eng.recoveries, 15.0), "no recovery"
        restart = eng.recoveries[0]["restored_at"] - eng.recoveries[0]["detected_at"]
        print(f"\nedits during a restart of {restart:.2f} s: the slowest call took "
              f"{slowest * 1000:.1f} ms")
        assert slowest < 0.05 < restart
        # the queued seek and mutes reached the new server
        assert _wait(lambda: eng.stats().get("position_s", 0) > 6.0, 10.0)
        assert _wait(lambda: max(eng.stats()["levels_db"]) < -100.0, 5.0), eng.stats()
        assert eng.playing and eng.controls.macros == {"pitch": 1.5}
    finally:
        eng.close()


def test_render_through_a_running_server(jack, tmp_path):
    """``atomsynth render --server NAME`` renders in the running server through its chain
    (here a gain insert): the file equals the engine's offline render; without a server it
    says so."""
    import subprocess
    import sys

    import soundfile as sf

    from atomsynth.rt.atomfile import save

    aset = _set().replace(duration_s=2.0)
    path = tmp_path / "set.atoms"
    save(aset, path)
    eng = Engine(aset, device=find_jack_device("output"), ahead_blocks=8)
    eng.start()
    try:
        eng.effects.add_effect("gain", gain_db=-6.0)
        eng.play()
        eng.sync()
        out = tmp_path / "out.wav"
        root = Path(__file__).resolve().parents[1]
        r = subprocess.run([sys.executable, "-m", "atomsynth", "render", str(path), "--quiet",
                            "--server", eng.client.name, "-o", str(out)],
                           capture_output=True, text=True, cwd=root, timeout=300)
        assert r.returncode == 0, r.stderr
        st = eng.stats()
        ref = eng.render_offline()
    finally:
        eng.close()
    y, sr = sf.read(out, always_2d=True)
    assert sr == 48000 and y.shape == ref.T.shape
    assert np.abs(ref).max() > 0.01
    assert np.abs(y - ref.T).max() <= 1e-6 * np.abs(ref).max() + 1e-7  # float32 crossing
    assert st["ring_misses"] == 0  # rendering beside playback did not starve it
    r = subprocess.run([sys.executable, "-m", "atomsynth", "render", str(path), "--server",
                        "no-such-server", "-o", str(tmp_path / "x.wav")],
                       capture_output=True, text=True, cwd=root, timeout=120)
    assert r.returncode != 0
    assert "no audio server named 'no-such-server' is running" in r.stderr + r.stdout
