"""The reference renderer against closed forms, SciPy filters and the MDCT definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import fft as sfft
from scipy import signal

from atomsynth.rt import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.burst import burst, burst_length, resonance_norm
from atomsynth.rt.mdct import atom_waveform, dct4, imdct, mdct, n_frames, sine_window
from atomsynth.rt.modes import atom_modes
from atomsynth.rt.reference import mode_poles, pan_gains, render, resonant_atom_signal

SR = 48000


def one_mode_atom(**kw) -> ResonantAtoms:
    base = dict(f0_hz=1000.0, t60_s=0.5, n_modes=1, attack_s=0.0005, burst_shape=2.0,
                noise_hz=1000.0, noise_bw_hz=4000.0, gain_db=0.0, seed=7)
    base.update(kw)
    return ResonantAtoms(**base)


def test_single_mode_decay_and_frequency():
    atoms = one_mode_atom()
    y = resonant_atom_signal(atoms, 0, (), SR)
    start = burst_length(0.0005, 2.0, SR) + 100
    tail = y[start : start + SR // 4]
    analytic = signal.hilbert(tail)
    t = np.arange(tail.size) / SR
    level_db = 20 * np.log10(np.abs(analytic))
    inner = slice(2000, tail.size - 2000)  # away from the Hilbert transform's edges
    slope_db_per_s = np.polyfit(t[inner], level_db[inner], 1)[0]
    t60 = -60.0 / slope_db_per_s
    assert t60 == pytest.approx(0.5, rel=0.01)
    phase = np.unwrap(np.angle(analytic))
    freq = np.polyfit(t[inner], phase[inner], 1)[0] / (2 * np.pi)
    assert abs(freq - 1000.0) < 0.1


def reference_by_filters(atoms: ResonantAtoms, sr: float, method: str) -> np.ndarray:
    """The same atom computed independently: burst through SciPy IIR filters or FFT convolution."""
    bank = atom_modes(atoms, (), sr)
    b = burst(seed=int(atoms.seed[0]), attack_s=float(atoms.attack_s[0]),
              burst_shape=float(atoms.burst_shape[0]), noise_hz=float(atoms.noise_hz[0]),
              noise_bw_hz=float(atoms.noise_bw_hz[0]), sample_rate=sr)
    y_len = resonant_atom_signal(atoms, 0, (), sr).size
    x = np.zeros(y_len)
    x[: b.size] = b
    active = bank.active[0]
    amp = bank.amp[0, active]
    norm = resonance_norm(amp, attack_s=float(atoms.attack_s[0]),
                          burst_shape=float(atoms.burst_shape[0]),
                          noise_bw_hz=float(atoms.noise_bw_hz[0]))
    mix = float(atoms.mix[0])
    out = mix * x
    poles = mode_poles(bank.freq_hz[0, active], bank.t60_s[0, active], sr)
    n = np.arange(y_len)
    for a, p in zip(amp, poles):
        r, w = abs(p), np.angle(p)
        weight = a * (1 - mix) * norm / sr
        if method == "iir":  # h[n] = r^n sin(w n): two-pole resonator
            y = signal.lfilter([0.0, r * math.sin(w)], [1.0, -2 * r * math.cos(w), r * r], x)
        else:
            h = r**n * np.sin(w * n)
            y = signal.fftconvolve(x, h)[:y_len]
        out = out + weight * y
    return out


@pytest.mark.parametrize("method", ["iir", "fft"])
def test_resonance_equals_iir_and_fft_convolution(method):
    atoms = ResonantAtoms(f0_hz=311.0, t60_s=0.3, n_modes=12, inharmonicity=0.001, damping=1.0,
                          brightness=0.8, cutoff_hz=3000.0, attack_s=0.004, burst_shape=1.5,
                          noise_hz=800.0, noise_bw_hz=1500.0, mix=0.2, seed=99)
    ours = resonant_atom_signal(atoms, 0, (), 22050.0)
    theirs = reference_by_filters(atoms, 22050.0, method)
    assert np.abs(ours - theirs).max() <= 1e-9 * max(1.0, np.abs(theirs).max())


def test_mix_one_is_the_burst_and_mix_blends_linearly():
    dry = one_mode_atom(mix=1.0)
    b = burst(seed=7, attack_s=0.0005, burst_shape=2.0, noise_hz=1000.0, noise_bw_hz=4000.0,
              sample_rate=SR)
    y = resonant_atom_signal(dry, 0, (), SR)
    np.testing.assert_allclose(y[: b.size], b, rtol=0, atol=1e-15)
    assert np.all(y[b.size :] == 0)
    wet = resonant_atom_signal(one_mode_atom(mix=0.0), 0, (), SR)
    half = resonant_atom_signal(one_mode_atom(mix=0.3), 0, (), SR)
    blend = 0.3 * np.pad(b, (0, wet.size - b.size)) + 0.7 * wet
    np.testing.assert_allclose(half, blend, rtol=0, atol=1e-12)


def test_constant_power_pan():
    pans = np.linspace(-1, 1, 21)
    g = pan_gains(pans, 2)
    np.testing.assert_allclose(g[0] ** 2 + g[1] ** 2, 1.0, atol=1e-12)
    assert g[0, 0] == pytest.approx(1.0) and g[1, 0] == pytest.approx(0.0, abs=1e-12)
    assert g[0, 10] == pytest.approx(math.sqrt(0.5))
    atoms = one_mode_atom(pan=[-1.0, 0.5], onset_s=[0.0, 0.0], seed=[1, 1])
    stereo = render(AtomSet(sample_rate=SR, channels=2, resonant=atoms.select([1])))
    mono = render(AtomSet(sample_rate=SR, channels=1, resonant=atoms.select([1])))
    np.testing.assert_allclose((stereo**2).sum(axis=0), mono[0] ** 2, atol=1e-12)


def test_modes_at_or_above_nyquist_are_dropped():
    sr = 8000
    atoms = ResonantAtoms(f0_hz=1000.0, n_modes=8, brightness=1.0, cutoff_hz=96000.0)
    bank = atom_modes(atoms, (), sr)
    assert bank.active[0].sum() == 3  # 1, 2, 3 kHz; 4 kHz is Nyquist
    four = render(AtomSet(sample_rate=sr, channels=1, resonant=atoms))
    three = render(AtomSet(sample_rate=sr, channels=1,
                           resonant=atoms.with_columns(n_modes=3)))
    np.testing.assert_allclose(four, three, atol=1e-15)


def test_continuous_time_atoms_render_at_any_rate():
    atoms = one_mode_atom(f0_hz=440.0, t60_s=0.2)
    for sr in (22050, 44100, 96000):
        y = render(AtomSet(sample_rate=48000, channels=1, resonant=atoms), sample_rate=sr)[0]
        spec = np.abs(np.fft.rfft(y, 16 * y.size))
        peak = np.argmax(spec) * sr / (16 * y.size)
        assert peak == pytest.approx(440.0, abs=1.0)


@pytest.mark.parametrize("variant", [dict(t60_s=0.3), dict(t60_s=3.0), dict(attack_s=0.02),
                                     dict(noise_bw_hz=200.0), dict(burst_shape=8.0)])
def test_normalization_rings_a_mode_at_unit_amplitude(variant):
    """At 0 dB a mode at the centre of the noise band rings with expected amplitude 1, whatever
    the decay, burst length, bandwidth or shape (mean power over 40 noise seeds, within 2 dB)."""
    powers = []
    for seed in range(40):
        atoms = one_mode_atom(seed=seed, **variant)
        y = resonant_atom_signal(atoms, 0, (), SR)
        start = burst_length(float(atoms.attack_s[0]), float(atoms.burst_shape[0]), SR)
        window = y[start : start + 480]
        # undo the decay since the burst's peak (the mode's amplitude when the burst is over)
        t = (start + 240 - atoms.attack_s[0] * SR) / SR
        powers.append(2 * np.mean(window**2) * 10 ** (6 * t / atoms.t60_s[0]))
    level_db = 10 * np.log10(np.mean(powers))
    assert abs(level_db) < 2.0


def scipy_mdct(x: np.ndarray, hop: int) -> np.ndarray:
    """The MDCT through scipy.fft's DCT-IV of the TDAC-folded frame."""
    frames = n_frames(x.size, hop)
    padded = np.zeros((frames + 1) * hop)
    padded[hop : hop + x.size] = x
    out = np.empty((frames, hop))
    w = sine_window(hop)
    q = hop // 2
    for t in range(frames):
        z = padded[t * hop : t * hop + 2 * hop] * w
        a, b, c, d = z[:q], z[q : 2 * q], z[2 * q : 3 * q], z[3 * q :]
        out[t] = sfft.dct(np.concatenate([-c[::-1] - d, a - b[::-1]]), type=4, norm="ortho")
    return out


@pytest.mark.parametrize("scale", [128, 1024, 8192])
def test_mdct_matches_definition_and_scipy(rng, scale):
    hop = scale // 2
    x = rng.standard_normal(3 * scale + 17)
    c = mdct(x, hop)
    np.testing.assert_allclose(c, scipy_mdct(x, hop), atol=1e-10)
    # the definition: inner products with the atoms
    frames = n_frames(x.size, hop)
    padded = np.zeros((frames + 1) * hop)
    padded[hop : hop + x.size] = x
    for t, k in [(0, 0), (1, hop // 3), (frames - 1, hop - 1)]:
        direct = padded[t * hop : t * hop + 2 * hop] @ atom_waveform(hop, k)
        assert c[t, k] == pytest.approx(direct, abs=1e-10)
    np.testing.assert_allclose(dct4(dct4(x[:hop])), x[:hop], atol=1e-12)


def test_mdct_atoms_reconstruct_exactly(rng):
    sr, hop = 16000, 256
    x = rng.standard_normal((2, 5000))
    c = mdct(x, hop)
    ch, fr, k = np.meshgrid(np.arange(2), np.arange(c.shape[1]), np.arange(hop), indexing="ij")
    atoms = MdctAtoms(scale=2 * hop, frame=fr.ravel(), bin=k.ravel(), channel=ch.ravel(),
                      value=c.ravel())
    y = render(AtomSet(sample_rate=sr, channels=2, mdct=atoms), duration_s=5000 / sr)
    assert np.abs(y - x).max() < 1e-9
    np.testing.assert_allclose(imdct(c, 5000), x, atol=1e-9)


def test_mdct_union_of_scales_adds(rng):
    sr = 16000
    a = MdctAtoms(scale=[256, 4096], frame=[3, 1], bin=[10, 100], value=[1.0, -0.5])
    both = render(AtomSet(sample_rate=sr, channels=1, mdct=a), duration_s=0.5)
    parts = sum(render(AtomSet(sample_rate=sr, channels=1, mdct=a.select([i])), duration_s=0.5)
                for i in range(2))
    np.testing.assert_allclose(both, parts, atol=1e-14)
    for i, energy in enumerate([1.0, 0.25]):  # orthonormal atoms: energy = value^2
        y = render(AtomSet(sample_rate=sr, channels=1, mdct=a.select([i])), duration_s=0.5)
        assert np.sum(y**2) == pytest.approx(energy, rel=1e-12)
