"""Self-tests for build_dpf_plugin.sh + the DPF "atomsynth test gain" VST3."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.support.dpf_plugin import (
    PLUGIN_NAME,
    build_test_gain_plugin,
    dpf_missing_reason,
    set_gain_db_exact,
)

pytestmark = pytest.mark.skipif(dpf_missing_reason() is not None, reason=str(dpf_missing_reason()))

SR = 48000


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    return build_test_gain_plugin(tmp_path_factory.mktemp("dpf"))


@pytest.fixture
def plugin(plugin_path):
    pedalboard = pytest.importorskip("pedalboard")
    return pedalboard.load_plugin(str(plugin_path))


@pytest.fixture(scope="module")
def signal():
    return np.random.default_rng(0).uniform(-1, 1, (2, 8192)).astype(np.float32)


def test_build_is_idempotent(plugin_path):
    so = next(plugin_path.glob("Contents/*-linux/*.so"))
    mtime = so.stat().st_mtime_ns
    t0 = time.monotonic()
    assert build_test_gain_plugin(plugin_path.parent) == plugin_path
    assert time.monotonic() - t0 < 2.0
    assert so.stat().st_mtime_ns == mtime


def test_loads_and_lists_parameters(plugin):
    assert plugin.name == PLUGIN_NAME
    assert list(plugin.parameters) == ["gain_db", "polarity"]
    gain = plugin.parameters["gain_db"]
    assert gain.name == "Gain" and gain.label == "dB"
    assert gain.range[:2] == (-60.0, 12.0)
    assert plugin.parameters["polarity"].valid_values == [0.0, 1.0]
    assert abs(plugin.gain_db) < 1e-5 and plugin.polarity == 0.0


def test_default_is_identity(plugin, signal):
    np.testing.assert_array_equal(plugin(signal, SR), signal)


def test_gain_minus_6_db(plugin, signal):
    plugin.gain_db = -6.0
    assert plugin.gain_db == -6.0
    np.testing.assert_allclose(plugin(signal, SR), signal * 10 ** (-6 / 20), rtol=0, atol=1e-5)


def test_polarity_flips_sign(plugin, signal):
    plugin.polarity = True
    np.testing.assert_array_equal(plugin(signal, SR), -signal)
    plugin.gain_db = -6.0
    np.testing.assert_allclose(plugin(signal, SR), -signal * 10 ** (-6 / 20), rtol=0, atol=1e-5)


@pytest.mark.parametrize("gain_db", [-60.0, -12.3, 0.0, 3.7, 12.0])
def test_exact_gain_via_raw_value(plugin, signal, gain_db):
    set_gain_db_exact(plugin, gain_db)
    assert abs(plugin.gain_db - gain_db) < 1e-4
    np.testing.assert_allclose(
        plugin(signal, SR), signal * 10 ** (gain_db / 20), rtol=1e-6, atol=1e-6
    )


def test_works_inside_a_pedalboard(plugin, signal):
    pedalboard = pytest.importorskip("pedalboard")
    plugin.gain_db = -6.0
    board = pedalboard.Pedalboard([plugin, pedalboard.Gain(gain_db=6.0)])
    np.testing.assert_allclose(
        board(signal, SR), signal * 10 ** (-6 / 20) * 10 ** (6 / 20), rtol=0, atol=1e-5
    )
