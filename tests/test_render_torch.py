"""The differentiable PyTorch renderer against the NumPy float64 reference, and its gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from atomsynth.offline import render_torch  # noqa: E402
from atomsynth.offline.losses import MultiResolutionSTFTLoss  # noqa: E402
from atomsynth.offline.render_torch import (  # noqa: E402
    CONTINUOUS,
    params_from_atoms,
    render_atoms,
)
from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.modes import ModeTable  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402

SR = 16000
SR_PROTOCOL = 22050  # the seed protocol's rate: 64 atoms, 2^15 samples


def random_atoms(rng: np.random.Generator, n: int, *, max_onset_s: float = 0.15,
                 preset: int = -1) -> ResonantAtoms:
    cols = dict(
        onset_s=rng.uniform(0, max_onset_s, n), gain_db=rng.uniform(-20, 0, n),
        pan=rng.uniform(-1, 1, n), f0_hz=rng.uniform(80, 2000, n), t60_s=rng.uniform(0.05, 1, n),
        damping=rng.uniform(0, 1, n), inharmonicity=rng.uniform(0, 1e-3, n),
        brightness=rng.uniform(0.3, 0.9, n), cutoff_hz=rng.uniform(1000, 8000, n),
        n_modes=rng.integers(1, 20, n), noise_hz=rng.uniform(100, 5000, n),
        noise_bw_hz=rng.uniform(50, 3000, n), attack_s=rng.uniform(0.0005, 0.01, n),
        burst_shape=rng.uniform(0.7, 8, n), mix=rng.uniform(0, 0.3, n),
        seed=rng.integers(0, 2**32, n), preset=np.full(n, preset),
    )
    # Parameters exactly representable in float32, so float32 and float64 render the same atom.
    for k, v in cols.items():
        if np.asarray(v).dtype.kind == "f":
            cols[k] = np.asarray(v, dtype=np.float32).astype(np.float64)
    return ResonantAtoms(**cols)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equals_reference(rng, channels, dtype):
    atoms = random_atoms(rng, 10)
    length = int(0.3 * SR)
    ref = render(AtomSet(sample_rate=SR, channels=channels, resonant=atoms),
                 duration_s=length / SR)
    p = params_from_atoms(atoms, dtype=getattr(torch, dtype))
    out = render_atoms(p, sample_rate=SR, length=length, channels=channels)
    assert out.shape == (1, channels, length)
    err = np.abs(out[0].numpy() - ref).max() / np.abs(ref).max()
    assert err < (1e-4 if dtype == "float32" else 1e-10)


def test_preset_atoms_equal_reference(rng):
    table = ModeTable("t", ratios=[1.0, 2.76, 5.4, 8.93], gains=[1.0, 0.5, 0.3, 0.2],
                      decays=[1.0, 0.6, 0.4, 0.3])
    atoms = random_atoms(rng, 4, preset=0)
    length = int(0.25 * SR)
    ref = render(AtomSet(sample_rate=SR, channels=1, resonant=atoms, mode_tables=(table,)),
                 duration_s=length / SR)
    out = render_atoms(params_from_atoms(atoms, dtype=torch.float64), sample_rate=SR,
                       length=length, tables=(table,))[0].numpy()
    assert np.abs(out - ref).max() / np.abs(ref).max() < 1e-10


def test_segments_are_windows_of_the_reference(rng):
    """Atoms in two segments (one starting before its window) equal windows of one render."""
    atoms = random_atoms(rng, 6, max_onset_s=0.4)
    total = int(0.6 * SR)
    ref = render(AtomSet(sample_rate=SR, channels=2, resonant=atoms), duration_s=total / SR)
    win = int(0.2 * SR)
    starts = np.array([0.2, 0.4])
    # Every atom is rendered into both windows.
    n = len(atoms)
    both = atoms.concat([atoms, atoms])
    segment = np.repeat([0, 1], n)
    out = render_atoms(params_from_atoms(both, dtype=torch.float64), sample_rate=SR,
                       length=win, channels=2, segment=segment, segment_start_s=starts)
    for s, t0 in enumerate(starts):
        i0 = int(round(t0 * SR))
        np.testing.assert_allclose(out[s].numpy(), ref[:, i0:i0 + win], atol=1e-9)


def test_gradients_reach_every_continuous_parameter(rng):
    atoms = random_atoms(rng, 3, max_onset_s=0.05).with_columns(
        mix=0.3, inharmonicity=1e-4, n_modes=8)
    p = params_from_atoms(atoms, dtype=torch.float64, requires_grad=True)
    out = render_atoms(p, sample_rate=SR, length=int(0.2 * SR), channels=2)
    target = torch.as_tensor(rng.standard_normal(out.shape) * 0.01)
    loss = ((out - target) ** 2).sum() + (out.abs().sum()) * 1e-3
    loss.backward()
    for name in CONTINUOUS:
        g = p[name].grad
        assert g is not None, name
        assert torch.isfinite(g).all(), name
        assert (g.abs() > 0).all(), f"{name}: zero gradient {g}"


def test_onset_gradient_matches_finite_difference_of_tail(rng):
    """The straight-through onset gradient is the derivative of a continuous delay: compare it
    with a centred difference of the float64 renderer over whole samples (long-ringing atom)."""
    atoms = ResonantAtoms(onset_s=0.01, f0_hz=300.0, t60_s=0.8, n_modes=3, attack_s=0.0005,
                          noise_hz=300, noise_bw_hz=400, gain_db=0.0, seed=3)
    length = int(0.2 * SR)
    n = np.arange(length)
    # A smooth weighting (the derivative of a sampled signal is defined for its band only).
    weight = torch.as_tensor(np.sin(2 * np.pi * 310 * n / SR + 1.0) * np.exp(-n / 3000))

    def value(onset):
        q = params_from_atoms(atoms.with_columns(onset_s=onset), dtype=torch.float64,
                              requires_grad=True)
        y = render_atoms(q, sample_rate=SR, length=length)[0, 0]
        return q, (y * weight).sum()

    q, v = value(0.01)
    v.backward()
    step = 1.0 / SR
    fd = (value(0.01 + step)[1].item() - value(0.01 - step)[1].item()) / (2 * step)
    assert q["onset_s"].grad.item() == pytest.approx(fd, rel=0.1)


def protocol_atoms(rng: np.random.Generator, n: int, duration_s: float) -> ResonantAtoms:
    """Random atoms like the seed protocol's, float32-exact so both dtypes see one atom."""
    cols = dict(
        onset_s=rng.uniform(0, duration_s * 0.95, n), gain_db=rng.uniform(-40, -20, n),
        pan=rng.uniform(-1, 1, n), f0_hz=np.exp(rng.uniform(np.log(50), np.log(4000), n)),
        t60_s=np.exp(rng.uniform(np.log(0.05), np.log(2.0), n)),
        damping=rng.uniform(0, 1, n), brightness=rng.uniform(0.2, 0.9, n),
        noise_hz=np.exp(rng.uniform(np.log(100), np.log(8000), n)),
        noise_bw_hz=np.exp(rng.uniform(np.log(100), np.log(4000), n)),
        attack_s=np.exp(rng.uniform(np.log(0.001), np.log(0.01), n)),
        burst_shape=rng.uniform(1.0, 4.0, n), inharmonicity=rng.uniform(0, 1e-4, n),
        cutoff_hz=rng.uniform(2000, 11025, n), mix=rng.uniform(0, 0.1, n),
    )
    cols = {k: np.asarray(v, dtype=np.float32).astype(np.float64) for k, v in cols.items()}
    return ResonantAtoms(**cols, n_modes=16, seed=rng.integers(0, 2**32, n))


def test_long_float32_window_equals_reference(rng):
    """2^15 samples at 22,050 Hz (the seed protocol's window): powers up to 32768 samples keep
    their phase (poles in float64), float32 within 1e-4 of the peak."""
    sr, length = SR_PROTOCOL, 2**15
    atoms = protocol_atoms(rng, 12, length / sr)
    ref = render(AtomSet(sample_rate=sr, channels=2, resonant=atoms), duration_s=length / sr)
    out = render_atoms(params_from_atoms(atoms), sample_rate=sr, length=length, channels=2)
    err = np.abs(out[0].numpy() - ref).max() / np.abs(ref).max()
    assert err < 1e-4
    # per-atom signals add up to the sum; a second call (cached noise) is bit-identical.
    each = render_atoms(params_from_atoms(atoms), sample_rate=sr, length=length, channels=2,
                        per_atom=True)
    torch.testing.assert_close(each.sum(0), out[0], atol=1e-6 * float(out.abs().max()), rtol=0)
    render_torch._NOISE_CACHE.clear()
    again = render_atoms(params_from_atoms(atoms), sample_rate=sr, length=length, channels=2)
    assert torch.equal(again, out)


def test_float32_gradients_reach_every_continuous_parameter(rng):
    sr = SR_PROTOCOL
    atoms = protocol_atoms(rng, 4, 0.1).with_columns(mix=0.3, n_modes=6)
    p = params_from_atoms(atoms, requires_grad=True)
    out = render_atoms(p, sample_rate=sr, length=4096, channels=2)
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=(512, 128))
    target = torch.as_tensor(rng.standard_normal(out.shape) * 0.01, dtype=torch.float32)
    (loss_fn(out, loss_fn.prepare(target)) + out.abs().sum() * 1e-3).backward()
    for name in CONTINUOUS:
        g = p[name].grad
        assert g is not None and torch.isfinite(g).all() and (g.abs() > 0).all(), name
