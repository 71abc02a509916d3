"""Analysis you can compare and honest status (issue 13, parts 4 and 5), offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from atomsynth.gui.compare import Original, aligned, residual  # noqa: E402
from atomsynth.gui.fit_dialog import FitSettingsDialog  # noqa: E402
from atomsynth.rt.atoms import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402
from tests.test_gui import SR, atoms_file, settings, small_set, win  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]


def fitted(win, tmp_path, monkeypatch, qtbot):  # noqa: F811
    """Open a tone as if fitted: the atoms are one 440 Hz atom."""
    wav = tmp_path / "tone.wav"
    t = np.arange(SR) / SR
    write_audio(wav, 0.2 * np.sin(2 * np.pi * 440 * t)[None] * np.exp(-3 * t), SR)

    def fake_fit(audio, *, sample_rate, progress):
        return AtomSet(sample_rate=sample_rate, channels=1,
                       resonant=ResonantAtoms(onset_s=[0.0], f0_hz=[440.0], t60_s=[1.0],
                                              gain_db=[-20.0]), duration_s=1.0)

    monkeypatch.setattr("atomsynth.gui.app.find_analyzer", lambda kind=None: (fake_fit, "fit"))
    assert win.open_path(wav)
    qtbot.waitUntil(lambda: not win.jobs, timeout=10000)
    return wav


def test_ab_switches_between_atoms_and_original(qtbot, win, tmp_path, monkeypatch):  # noqa: F811
    assert not win.set_ab(True) and win.ab_source == "A"  # no recording yet: a message
    assert "recording" in win.statusBar().currentMessage()
    fitted(win, tmp_path, monkeypatch, qtbot)
    assert win.original is not None and win.original.sample_rate == SR
    win.seek(0.25)
    qtbot.keyClick(win, "B")  # the shortcut
    assert win.ab_source == "B" and win.ab_action.isChecked()
    assert not win.bridge.playing  # the atoms are paused while B plays
    # What B plays: the recording's samples from the same position.
    block = win.player.read(512)
    np.testing.assert_array_equal(block, win.original.audio[:, 4000:4512].astype(np.float32))
    win.tick()
    assert win.status_labels["output"].text().startswith("B: original")
    qtbot.keyClick(win, "B")
    assert win.ab_source == "A" and not win.ab_action.isChecked()
    assert win.bridge.position_s == pytest.approx(0.25 + 512 / SR, abs=1e-9)


def test_original_and_residual_spectrograms(qtbot, win, tmp_path, monkeypatch):  # noqa: F811
    fitted(win, tmp_path, monkeypatch, qtbot)
    s = win.doc.atom_set
    win.show_analysis("original")
    qtbot.waitUntil(lambda: not win.jobs, timeout=20000)
    np.testing.assert_array_equal(win.analysis_audio, win.original.audio)
    win.show_analysis("residual")
    qtbot.waitUntil(lambda: not win.jobs, timeout=20000)
    expected = win.original.audio - render(s, duration_s=1.0)
    np.testing.assert_allclose(win.analysis_audio, expected, atol=1e-5)
    assert win.spec_source_actions["residual"].isChecked()
    assert win.view.spec_item.isVisible()


def test_aligned_resamples_and_matches_channels():
    t = np.arange(48000) / 48000
    x = np.sin(2 * np.pi * 1000 * t)[None]
    o = Original(np.vstack([x, x]), 48000)
    y = aligned(o, 16000, 1, 16000)
    assert y.shape == (1, 16000)
    ref = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    np.testing.assert_allclose(y[0, 500:-500], ref[500:-500], atol=1e-3)
    r = residual(o, y * 0.0 + np.vstack([ref]), 16000)
    assert np.abs(r[0, 500:-500]).max() < 1e-3


def test_fit_settings_dialog_limits_rate_and_estimates(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    dlg = FitSettingsDialog(32000, 10.0, settings=store)
    qtbot.addWidget(dlg)
    rates = [dlg.rate.itemData(i) for i in range(dlg.rate.count())]
    assert max(rates) == 32000 and 44100 not in rates and 22050 in rates
    assert dlg.rate.currentData() == 22050
    assert "no fit measured" in dlg.estimate.text()
    store.setValue("fit_seconds_per_unit", 2.0)
    dlg.rate.setCurrentIndex(dlg.rate.findData(32000))
    dlg.quality.setCurrentIndex(2)  # 400 steps
    dlg.budget.setValue(40.0)
    # 10 s x 32000/22050 x 400/150 units x 2 s/unit
    assert f"about {2.0 * 10 * 32000 / 22050 * 400 / 150:.0f} s" in dlg.estimate.text()
    assert dlg.options() == {"sample_rate": 32000, "atoms_per_second": 40.0,
                             "iterations": 400}
    dlg.method.setCurrentIndex(dlg.method.findData("atomize"))
    assert dlg.options() == {} and not dlg.rate.isEnabled()


def test_finding_the_analyzer_does_not_import_torch():
    code = ("import sys; from atomsynth.gui.jobs import find_analyzer; "
            "fn, what = find_analyzer(); print(what, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "fit resonant atoms False", out.stderr


def test_status_without_playback_shows_dashes_and_the_peak_resets(win):  # noqa: F811
    win.tick()
    lab = win.status_labels
    assert lab["atoms"].text() == "atoms playing —"
    assert lab["cpu"].text().startswith("CPU —")
    assert lab["output"].text() == "no audio output"
    assert lab["underflows"].text() == "underflows: engine 0, device 0"
    win._peak = 0.7
    win.tick()
    assert "70%" in lab["cpu"].text()
    win.reset_cpu_peak()
    assert lab["cpu"].text() == "CPU — (peak —)"


@pytest.mark.jack
def test_status_names_the_jack_device_and_live_figures(qtbot, settings, tmp_path):  # noqa: F811
    """Through a real JACK server (jackd -d dummy): the output box and the status name the
    JACK device, not "no audio output"; figures are live while playing, "—" when paused."""
    from tests.support.jack_server import (
        JackError,
        find_jack_device,
        jack_missing_reason,
        start_jack_dummy,
    )

    if jack_missing_reason():
        pytest.skip(jack_missing_reason())
    from atomsynth.gui.app import MainWindow

    s = small_set().replace(sample_rate=48000, duration_s=3.0)
    try:
        server_cm = start_jack_dummy(sample_rate=48000, period=256)
        server = server_cm.__enter__()
    except JackError as exc:
        pytest.skip(f"jackd did not start: {exc}")
    try:
        dev = find_jack_device("output")
        w = MainWindow(atom_set=s, device=dev, settings=settings, preview=False,
                       recovery_dir=tmp_path / "rec")
        try:
            assert w.bridge.has_output, w.bridge.problem
            combo = w.transport.device_combo
            assert combo.currentText() != "no audio output"
            assert combo.currentData() == dev
            w.tick()
            assert w.status_labels["output"].text().startswith("output: ")
            assert "JACK" in w.status_labels["output"].text()
            w.toggle_play()
            qtbot.waitUntil(lambda: w.bridge.stats().get("callbacks", 0) > 20, timeout=10000)
            w.tick()
            assert "—" not in w.status_labels["cpu"].text()
            assert w.status_labels["atoms"].text().endswith("atoms playing")
            w.toggle_play()
            w.tick()
            assert w.status_labels["atoms"].text() == "atoms playing —"
            assert w.status_labels["cpu"].text().startswith("CPU —")
        finally:
            w.doc.undo_stack.setClean()
            w.close()
            del server
    finally:
        server_cm.__exit__(None, None, None)


def quick_and_fit(monkeypatch, gate):
    """find_analyzer with an instant 'atomizer' (430 Hz) and a 'fit' (440 Hz) that waits for
    ``gate`` (a threading.Event) so the test sees the first result before the refinement."""
    from atomsynth.gui.jobs import ANALYZERS

    def quick(audio, *, sample_rate, progress):
        return AtomSet(sample_rate=sample_rate, channels=1,
                       resonant=ResonantAtoms(onset_s=[0.0], f0_hz=[430.0]))

    def fit(audio, *, sample_rate, progress):
        assert gate.wait(20)
        return AtomSet(sample_rate=sample_rate, channels=1,
                       resonant=ResonantAtoms(onset_s=[0.0], f0_hz=[440.0]))

    table = {"atomize": (quick, ANALYZERS["atomize"][1]), None: (fit, ANALYZERS["fit"][1]),
             "fit": (fit, ANALYZERS["fit"][1])}
    monkeypatch.setattr("atomsynth.gui.app.find_analyzer", lambda kind=None: table[kind])


def test_first_result_from_analysis_then_refined(qtbot, win, tmp_path, monkeypatch):  # noqa: F811
    import threading

    gate = threading.Event()
    quick_and_fit(monkeypatch, gate)
    wav = tmp_path / "tone.wav"
    write_audio(wav, 0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)[None], SR)
    assert win.open_path(wav)
    qtbot.waitUntil(lambda: len(win.doc.atom_set.resonant) == 1, timeout=10000)
    assert win.doc.atom_set.resonant.f0_hz[0] == 430.0 and win.jobs  # first result, fit running
    gate.set()
    qtbot.waitUntil(lambda: not win.jobs, timeout=20000)
    assert win.doc.atom_set.resonant.f0_hz[0] == 440.0  # refined in place
    win.undo_action.trigger()
    assert win.doc.atom_set.resonant.f0_hz[0] == 430.0  # one undo: back to the first result
    # Edits to the first result are never overwritten: the refinement waits aside.
    gate.clear()
    win.doc.reset(small_set())
    win.original = None
    assert win.open_path(wav)
    qtbot.waitUntil(lambda: len(win.doc.atom_set.resonant) == 1 and win.original is not None
                    and win.doc.atom_set.resonant.f0_hz[0] == 430.0, timeout=10000)
    win.doc.select_all()
    win.doc.duplicate_selection(dt_s=0.1)
    gate.set()
    qtbot.waitUntil(lambda: not win.jobs, timeout=20000)
    assert len(win.doc.atom_set.resonant) == 2 and "refined fit is ready" in win.errors[-1]
    win.use_refined()
    assert win.doc.atom_set.resonant.f0_hz.tolist() == [440.0]
