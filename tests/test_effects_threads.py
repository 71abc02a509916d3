"""The effects bridge is single-threaded by construction: changes made on the control thread
are queued closures that only ``process()`` (the render thread) runs."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from atomsynth.rt.effects import EffectsBridge

pytest.importorskip("pedalboard")

SR = 48000


class _ThreadRecordingList(list):
    """A list that records which thread changed it (the bridge's render-side chain)."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[int] = set()

    def append(self, item) -> None:
        self.writers.add(threading.get_ident())
        super().append(item)

    def pop(self, index: int = -1):
        self.writers.add(threading.get_ident())
        return super().pop(index)


def test_changes_wait_for_the_next_process_call():
    fx = EffectsBridge(sample_rate=SR, channels=2)
    x = np.full((1, 2, 64), 0.5)
    assert fx.add_effect("gain", gain_db=0.0) == 0
    assert fx.inserts == [] and fx.active  # queued, not applied
    proc = fx.parameters(0)
    assert proc["gain_db"] == pytest.approx(0.0)
    fx.set_param(0, "gain_db", -6.0)
    assert fx.parameters(0)["gain_db"] == pytest.approx(0.0)  # not yet
    y = fx.process(x)
    assert len(fx.inserts) == 1
    np.testing.assert_allclose(y, 0.5 * 10 ** (-6.0 / 20), rtol=1e-6)
    fx.remove_insert(0)
    assert len(fx.inserts) == 1  # still there until the next block
    assert fx.describe() == []  # the control thread's view has it gone
    np.testing.assert_array_equal(fx.process(x), x[0])
    assert fx.inserts == []
    with pytest.raises(Exception, match="out of range"):
        fx.set_param(0, "gain_db", 1.0)


def test_only_the_render_thread_changes_the_chain():
    """A render thread processes blocks while this thread adds, removes and sets gains 300
    times: every change to the chain happens on the render thread, every block has one gain
    (no change lands inside a block) and the end state is what the control thread asked for."""
    fx = EffectsBridge(sample_rate=SR, channels=1)
    fx.inserts = _ThreadRecordingList()
    fx.add_effect("gain", gain_db=0.0)
    gains_db = np.round(np.random.default_rng(7).uniform(-12.0, 0.0, 300), 1)
    allowed = {0.0, *gains_db.tolist()}
    x = np.ones((1, 1, 128))
    stop = threading.Event()
    outputs: list[np.ndarray] = []
    render_ident: list[int] = []
    failures: list[BaseException] = []

    def render() -> None:
        render_ident.append(threading.get_ident())
        try:
            while not stop.is_set():
                outputs.append(fx.process(x))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    t = threading.Thread(target=render)
    t.start()
    try:
        for i, g in enumerate(gains_db):
            fx.set_param(0, "gain_db", float(g))
            if i % 10 == 0:
                fx.add_effect("gain", gain_db=0.0)  # a second, neutral insert ...
            if i % 10 == 5:
                fx.remove_insert(1)  # ... removed again
            if i % 20 == 0:  # let blocks interleave with the changes, however loaded the machine
                wanted, deadline = len(outputs) + 2, time.monotonic() + 10.0
                while len(outputs) < wanted and time.monotonic() < deadline and t.is_alive():
                    time.sleep(0.0005)
    finally:
        stop.set()
        t.join(timeout=30)
    assert not failures and not t.is_alive()
    fx.process(x)  # the last queued changes (this thread is the render thread now)
    assert fx.inserts.writers <= {render_ident[0], threading.get_ident()}
    assert render_ident[0] in fx.inserts.writers
    assert len(fx.inserts) == 1 and fx.describe() == ["insert 0: gain (gain)"]
    assert fx.inserts[0].processor.gain_db == pytest.approx(gains_db[-1], abs=1e-4)
    assert len(outputs) > 10 and not fx.errors
    for y in outputs:
        assert np.ptp(y) == 0.0  # one gain per block
        g_db = 20 * np.log10(y[0, 0])
        assert min(abs(g_db - a) for a in allowed) < 1e-4
