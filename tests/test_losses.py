"""The spectral losses (``offline/losses.py``): zero on identity, the multi-band split, the
sparsity term, validated options, and prepared targets equal to plain ones."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from atomsynth.offline.losses import (  # noqa: E402
    MultiBandSTFTLoss,
    MultiResolutionSTFTLoss,
    SparsityLoss,
)
from atomsynth.rt.errors import ParameterError  # noqa: E402


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


def test_losses_zero_on_identity_positive_otherwise(rng):
    a = torch.as_tensor(rng.standard_normal((1, 4000)))
    b = a + 0.1 * torch.as_tensor(rng.standard_normal((1, 4000)))
    for loss in (MultiResolutionSTFTLoss(), MultiBandSTFTLoss(n_bands=3)):
        assert float(loss(a, a)) == pytest.approx(0.0, abs=1e-9)
        assert float(loss(b, a)) > 0.01
    # The multi-band split is exact: the bands add up to the signal.
    bands = MultiBandSTFTLoss(n_bands=4).split(a)
    torch.testing.assert_close(sum(bands), a, atol=1e-9, rtol=0)
    assert float(SparsityLoss(weight=2.0)(torch.tensor([0.0, -20.0]))) == pytest.approx(1.1)


@pytest.mark.parametrize("kwargs", [dict(fft_sizes=(1000,)), dict(fft_sizes=()),
                                    dict(linear_weight=-1.0), dict(eps=0.0),
                                    dict(linear_weight=0.0, log_weight=0.0)])
def test_loss_options_are_validated(kwargs):
    with pytest.raises(ParameterError):
        MultiResolutionSTFTLoss(**kwargs)
