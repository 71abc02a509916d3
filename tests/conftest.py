"""Shared fixtures. Randomness comes from explicit seeded generators."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolate_fp_environment():
    """Hosted plugins may switch on flush-to-zero for the thread; no test may leak that."""
    from atomsynth.rt import fpenv

    with fpenv.preserved():
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
