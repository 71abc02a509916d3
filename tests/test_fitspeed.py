"""The fast fitting path: batched noise, cached spectra, prepared loss targets, and the
renderer on the seed protocol's long float32 window against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from atomsynth.offline import render_torch  # noqa: E402
from atomsynth.offline.losses import MultiResolutionSTFTLoss  # noqa: E402
from atomsynth.offline.noise_torch import uniform_noise, uniform_noise_rows  # noqa: E402
from atomsynth.offline.render_torch import CONTINUOUS, params_from_atoms, render_atoms  # noqa: E402
from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.errors import ParameterError  # noqa: E402
from atomsynth.rt.noise import uniform_noise as uniform_noise_np  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402

SR = 22050


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


def test_noise_rows_are_bit_identical_to_single_keys():
    seeds = np.array([0, 1, 7, 2**32 - 1, 123456789], dtype=np.int64)
    rows = uniform_noise_rows(seeds, 5, 300, dtype=torch.float64)
    for i, s in enumerate(seeds):
        assert torch.equal(rows[i], uniform_noise(int(s), 5, 300, dtype=torch.float64))
        np.testing.assert_array_equal(rows[i].numpy(), uniform_noise_np(int(s), 5, 300))


def test_long_float32_window_equals_reference(rng):
    """2^15 samples at 22,050 Hz (the seed protocol's window): powers up to 32768 samples keep
    their phase (poles in float64), float32 within 1e-4 of the peak."""
    length = 2**15
    atoms = protocol_atoms(rng, 12, length / SR)
    ref = render(AtomSet(sample_rate=SR, channels=2, resonant=atoms), duration_s=length / SR)
    out = render_atoms(params_from_atoms(atoms), sample_rate=SR, length=length, channels=2)
    err = np.abs(out[0].numpy() - ref).max() / np.abs(ref).max()
    assert err < 1e-4
    # per-atom signals add up to the sum; a second call (cached noise) is bit-identical.
    each = render_atoms(params_from_atoms(atoms), sample_rate=SR, length=length, channels=2,
                        per_atom=True)
    torch.testing.assert_close(each.sum(0), out[0], atol=1e-6 * float(out.abs().max()), rtol=0)
    render_torch._NOISE_CACHE.clear()
    again = render_atoms(params_from_atoms(atoms), sample_rate=SR, length=length, channels=2)
    assert torch.equal(again, out)


def test_float32_gradients_reach_every_continuous_parameter(rng):
    atoms = protocol_atoms(rng, 4, 0.1).with_columns(mix=0.3, n_modes=6)
    p = params_from_atoms(atoms, requires_grad=True)
    out = render_atoms(p, sample_rate=SR, length=4096, channels=2)
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=(512, 128))
    target = torch.as_tensor(rng.standard_normal(out.shape) * 0.01, dtype=torch.float32)
    (loss_fn(out, loss_fn.prepare(target)) + out.abs().sum() * 1e-3).backward()
    for name in CONTINUOUS:
        g = p[name].grad
        assert g is not None and torch.isfinite(g).all() and (g.abs() > 0).all(), name


def test_prepared_target_gives_the_same_loss_and_gradient(rng):
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=(1024, 256, 64))
    target = torch.as_tensor(rng.standard_normal((1, 2, 3000)))
    x = torch.tensor(rng.standard_normal((1, 2, 3000)), requires_grad=True)
    plain = loss_fn(x, target)
    (g_plain,) = torch.autograd.grad(plain, x)
    prepared = loss_fn(x, loss_fn.prepare(target))
    (g_prep,) = torch.autograd.grad(prepared, x)
    assert float(plain.detach()) == pytest.approx(float(prepared.detach()), rel=1e-12)
    torch.testing.assert_close(g_prep, g_plain, rtol=1e-12, atol=1e-15)
    with pytest.raises(ParameterError, match="another loss"):
        MultiResolutionSTFTLoss()(x, loss_fn.prepare(target))
    with pytest.raises(ParameterError, match="shape"):
        loss_fn(x[..., :2000], loss_fn.prepare(target))
