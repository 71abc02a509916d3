"""The pedalboard bridge: room convolution against SciPy, a DPF-built VST3 plugin, failures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.audio_io import write_audio
from atomsynth.rt.effects import EffectsBridge
from atomsynth.rt.engine import Engine
from atomsynth.rt.rooms import find_room_file, generate_room
from atomsynth.rt.synth import StreamingSynth
from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

SR = 48000


def buses_from(rng: np.random.Generator, n: int, rooms: int = 1) -> np.ndarray:
    return rng.normal(0, 0.1, (1 + rooms, 2, n))


def run_blocks(fx: EffectsBridge, buses: np.ndarray, block: int) -> np.ndarray:
    out = np.zeros(buses.shape[1:])
    for a in range(0, buses.shape[2], block):
        out[:, a : a + block] = fx.process(buses[:, :, a : a + block])
    return out


def test_room_convolution_matches_scipy(tmp_path, rng, monkeypatch):
    ir = rng.normal(0, 1, (2, 6000)) * np.exp(-np.arange(6000) / 1500.0)
    ir *= 0.5 / np.abs(ir).max()
    write_audio(tmp_path / "Booth.wav", ir, SR, subtype="FLOAT")
    monkeypatch.setenv("IMPULSE_RESPONSE_PATH", str(tmp_path))
    assert find_room_file("booth") == tmp_path / "Booth.wav"
    fx = EffectsBridge(sample_rate=SR, channels=2, room_names=["booth"])
    assert not fx.errors
    buses = buses_from(rng, 20000)
    y = run_blocks(fx, buses, 256)
    ir32 = ir.astype(np.float32).astype(np.float64)
    ref = buses[0] + np.stack([signal.fftconvolve(buses[1, c], ir32[c])[:20000]
                               for c in range(2)])
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_bundled_rooms_exist_and_are_the_generated_ones():
    for name in ("room", "hall", "plate"):
        path = find_room_file(name)
        assert path is not None and path.suffix == ".flac", name
    import soundfile as sf

    data, sr = sf.read(find_room_file("room"), always_2d=True)
    gen = generate_room("room", sample_rate=sr) * 0.5
    assert data.shape == gen.T.shape
    assert np.abs(data - gen.T).max() < 2e-7  # 24-bit quantization


def test_failures_are_reported_not_fatal(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    fx = EffectsBridge(sample_rate=SR, channels=2, room_names=["nowhere", "broken"],
                       room_files={"broken": bad})
    assert fx.load_plugin(tmp_path / "missing.vst3") is None
    assert fx.add_effect("flanger-3000") is None
    text = "\n".join(fx.errors)
    assert "nowhere" in text and "broken" in text and "missing.vst3" in text
    assert "flanger-3000" in text
    buses = np.ones((3, 2, 64))
    assert np.array_equal(fx.process(buses), buses[0])  # sends of failed rooms dropped


def test_builtin_effect_runs_with_state_across_blocks(rng):
    fx = EffectsBridge(sample_rate=SR, channels=2)
    fx.add_effect("delay", delay_seconds=0.01, feedback=0.0, mix=1.0)
    x = np.zeros((1, 2, 4096))
    x[0, :, 0] = 1.0
    y = run_blocks(fx, x, 256)
    k = int(np.argmax(np.abs(y[0])))
    # the delayed impulse comes out 10 ms later (pedalboard stores delay_seconds in float32:
    # 479 or 480 samples), after a block boundary: the state carried across blocks
    assert k in (479, 480) and abs(y[0, k] - 1.0) < 1e-6 and np.abs(y[:, :k]).max() < 1e-6


@pytest.fixture(scope="module")
def gain_plugin() -> Path:
    reason = dpf_missing_reason()
    if reason:
        pytest.skip(reason)
    out = Path(os.environ.get("ATOMSYNTH_PLUGIN_BUILD", "/tmp/atomsynth-test-plugins"))
    return build_test_gain_plugin(out)


def test_vst3_plugin_gain_polarity_and_parameter_control(gain_plugin, rng):
    fx = EffectsBridge(sample_rate=SR, channels=2)
    idx = fx.load_plugin(gain_plugin, params={"gain_db": -6.0})
    assert idx == 0 and not fx.errors
    params = fx.parameters(idx)
    assert {"gain_db", "polarity"} <= set(params)
    buses = buses_from(rng, 4096, rooms=0)
    y = run_blocks(fx, buses[:, :, :2048], 256)
    g = 10 ** (-6.0 / 20)
    assert np.abs(y - g * buses[0, :, :2048]).max() < 1e-6
    fx.set_param(idx, "polarity", True)  # applied at the next block
    fx.set_param(idx, "gain_db", 3.0)
    y2 = run_blocks(fx, buses[:, :, 2048:], 256)
    assert np.abs(y2 + 10 ** (3.0 / 20) * buses[0, :, 2048:]).max() < 1e-5
    with pytest.raises(Exception, match="no parameter"):
        fx.set_param(idx, "wobble", 1.0)


def test_engine_offline_render_uses_rooms_and_plugin(gain_plugin):
    atoms = ResonantAtoms(onset_s=[0.0, 0.1], f0_hz=[220.0, 330.0], t60_s=0.3, gain_db=0.0,
                          room=[0, -1], wet=[0.5, 0.0])
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, room_names=("room",),
                   duration_s=0.6)
    eng = Engine(aset, output=False, block_size=256)
    eng.effects.load_plugin(gain_plugin, params={"gain_db": -6.0, "polarity": True})
    y = eng.render_offline()
    synth = StreamingSynth(aset)
    buses = synth.render_all(duration_s=0.6, block=256)
    fx = EffectsBridge(sample_rate=SR, channels=2, room_names=("room",))
    wet = run_blocks(fx, buses, 256)
    assert np.abs(wet - buses[0]).max() > 1e-3  # the room is audible
    assert np.abs(y + 10 ** (-6 / 20) * wet).max() <= 1e-5 * np.abs(wet).max()


def test_hosting_a_plugin_leaves_subnormals_alone(tmp_path):
    """JUCE switches on flush-to-zero; the bridge restores the caller's FP environment."""
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    if dpf_missing_reason():
        pytest.skip(dpf_missing_reason())
    from atomsynth.rt.effects import EffectsBridge

    tiny = 2.2250738585072014e-308  # the smallest normal double
    bridge = EffectsBridge(sample_rate=48000, channels=2)
    assert bridge.load_plugin(build_test_gain_plugin(tmp_path)) is not None
    bridge.process(np.zeros((1, 2, 256)))
    assert tiny / 2 != 0.0
