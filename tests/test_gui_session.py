"""Sessions that lose nothing (issue 13, part 1), driven through the real window offscreen.

A session (macros, group mixer, inserts with plugin state, rooms) saves beside the .atoms,
reopens, and ``atomsynth render`` on it reproduces the app's own render sample for sample;
missing pieces are listed in one warning; Save never overwrites a file the app did not open
and never writes into the installed package; autosave and crash recovery.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from atomsynth.gui.app import MainWindow  # noqa: E402
from atomsynth.gui.document import Selection  # noqa: E402
from atomsynth.rt.atomfile import load, save  # noqa: E402
from atomsynth.rt.atoms import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.audio_io import read_audio, write_audio  # noqa: E402
from atomsynth.rt.session import (  # noqa: E402
    SessionError,
    parse_session,
    read_session,
    session_path_for,
)
from tests.test_gui import SR, small_set  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, settings, tmp_path, **kw):
    w = MainWindow(audio=False, settings=settings, preview=False,
                   recovery_dir=tmp_path / "recovery", **kw)
    qtbot.addWidget(w)
    w.show()
    return w


def close(w):
    w.doc.undo_stack.setClean()
    w.close()


def test_session_saves_reopens_and_renders_the_same(qtbot, settings, tmp_path, monkeypatch,
                                                    capsys):
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    if dpf_missing_reason():
        pytest.skip(dpf_missing_reason())
    plugin = build_test_gain_plugin(Path(os.environ.get("ATOMSYNTH_PLUGIN_BUILD",
                                                        "/tmp/atomsynth-test-plugins")))
    # A room from IMPULSE_RESPONSE_PATH: a dry tap and an echo 125 ms later.
    irdir = tmp_path / "irs"
    ir = np.zeros((1, 4000))
    ir[0, 0], ir[0, 2000] = 1.0, 0.5
    write_audio(irdir / "echo_hall.wav", ir, SR)
    monkeypatch.setenv("IMPULSE_RESPONSE_PATH", str(irdir))

    src = tmp_path / "src.atoms"
    save(small_set(), src)
    w = make_window(qtbot, settings, tmp_path, path=src)
    w.effects.reload_rooms()
    w.effects.room_combo.setCurrentIndex(w.effects.room_combo.findData("echo_hall"))
    w.effects.send_slider.setValue(40)
    w.effects.room_requested.emit("echo_hall", 0.4, True)
    assert w.doc.atom_set.room_names == ("echo_hall",)
    # Inserts: a built-in Gain at -3 dB, then the test VST3 with non-default state.
    w.effects.add_builtin("Gain")
    gain = w.chain.inserts[0]
    gain.set(next(p for p in gain.params if p.name == "gain_db"), -3.0)
    w._chain_changed()
    assert w.effects.add_vst3(str(plugin))
    vst = w.chain.inserts[1]
    vst.plugin.gain_db = -6.0
    vst.plugin.polarity = True
    w._chain_changed()
    # Macros and the group mixer.
    w.macros.set_macro("pitch", 2 ** (3 / 12))
    w.macros.set_macro("decay", 0.5)
    w.macros.group_widget(1, "mute").setChecked(True)
    w.macros.group_widget(2, "gain dB").setValue(4.0)
    out = tmp_path / "work" / "piece.atoms"
    out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    assert w.save()  # came from src.atoms, but the room edit: Save writes to src (opened)
    assert w.doc.path == src
    assert w.save_as()
    spath = session_path_for(out)
    assert spath.name == "piece.atomsession.json" and spath.is_file()
    data = json.loads(spath.read_text())
    assert data["format"] == "atomsynth-session" and data["atoms"] == "piece.atoms"
    assert [i["kind"] for i in data["inserts"]] == ["gain", "plugin"]
    assert data["inserts"][1]["params"]["polarity"] == 1.0 and data["inserts"][1]["state"]
    assert data["rooms"]["echo_hall"]["path"] == str((irdir / "echo_hall.wav").resolve())
    assert data["groups"]["1"]["mute"] is True
    app_mix = tmp_path / "app.wav"
    w.render_to(app_mix, stems=False, wait=True)
    pitch = w.mix.macros["pitch"]
    close(w)

    # Reopen in a fresh window: everything is back. The IR is no longer on the search path:
    # the session's reference to it is what finds it.
    monkeypatch.setenv("IMPULSE_RESPONSE_PATH", str(tmp_path / "elsewhere"))
    w2 = make_window(qtbot, settings, tmp_path, path=out)
    assert not [m for m in w2.errors if "echo_hall" in m]
    assert [e.name for e in w2.chain.inserts][0] == "Gain"
    assert w2.chain.inserts[1].plugin.polarity == 1.0
    assert w2.chain.inserts[1].plugin.gain_db == pytest.approx(-6.0, abs=1e-3)
    assert w2.mix.macros["pitch"] == pitch
    assert w2.mix.group(1).mute and w2.mix.group(2).gain_db == 4.0
    assert w2.macros.group_widget(1, "mute").isChecked()
    assert w2.effects.list.count() == 2
    reopened_mix = tmp_path / "reopened.wav"
    w2.render_to(reopened_mix, stems=False, wait=True)
    close(w2)

    # The command line renders the session beside the .atoms: the same samples.
    from atomsynth.cli import main

    cli_mix = tmp_path / "cli.wav"
    assert main(["render", str(out), "-o", str(cli_mix), "--quiet"]) == 0
    assert "session:" in capsys.readouterr().out
    a, _ = read_audio(app_mix)
    b, _ = read_audio(reopened_mix)
    c, _ = read_audio(cli_mix)
    assert np.abs(a).max() > 1e-3
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    # ... and the session file given directly.
    assert main(["render", str(spath), "-o", str(tmp_path / "cli2.wav"), "--quiet"]) == 0
    np.testing.assert_array_equal(read_audio(tmp_path / "cli2.wav")[0], a)
    # The controls matter: without the session the render differs.
    # (the IR is named explicitly: render fails on a room it cannot find, see docs/hardening.md)
    assert main(["render", str(out), "--no-session", "-o", str(tmp_path / "plain.wav"),
                 "--room-ir", f"echo_hall={irdir / 'echo_hall.wav'}", "--quiet"]) == 0
    assert np.abs(read_audio(tmp_path / "plain.wav")[0] - a).max() > 1e-2


def test_missing_ir_and_plugin_listed_in_one_warning(qtbot, settings, tmp_path, monkeypatch):
    irdir = tmp_path / "irs"
    ir = np.zeros((1, 400))
    ir[0, 0] = 1.0
    write_audio(irdir / "gone_room.wav", ir, SR)
    monkeypatch.setenv("IMPULSE_RESPONSE_PATH", str(irdir))
    s = small_set()
    s = s.replace(room_names=("gone_room",))
    s = s.replace(resonant=s.resonant.with_columns(room=0, wet=0.5))
    path = tmp_path / "p.atoms"
    save(s, path)
    spath = session_path_for(path)
    spath.write_text(json.dumps({
        "format": "atomsynth-session", "version": 1, "atoms": "p.atoms",
        "macros": {"pitch": 1.5},
        "inserts": [{"kind": "plugin", "name": "Lost Plug", "path": str(tmp_path / "no.vst3")},
                    {"kind": "gain", "params": {"gain_db": -2.0}}],
        "rooms": {"gone_room": {"path": str(irdir / "gone_room.wav")}}}))
    (irdir / "gone_room.wav").unlink()
    w = make_window(qtbot, settings, tmp_path, path=path)
    # One warning lists both; the rest opened.
    msgs = [m for m in w.errors if "Lost Plug" in m]
    assert len(msgs) == 1 and "gone_room" in msgs[0] and "p.atoms" in msgs[0]
    assert w.doc.atom_set == s and w.mix.macros["pitch"] == 1.5
    assert [e.name for e in w.chain.inserts] == ["Gain"]
    close(w)


def test_missing_room_without_session_is_reported_in_the_app(qtbot, settings, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("IMPULSE_RESPONSE_PATH", str(tmp_path / "none"))
    s = small_set()
    s = s.replace(room_names=("nowhere_hall",))
    s = s.replace(resonant=s.resonant.with_columns(room=0, wet=0.5))
    path = tmp_path / "r.atoms"
    save(s, path)
    w = make_window(qtbot, settings, tmp_path, path=path)
    assert any("nowhere_hall" in m and "dry" in m for m in w.errors)
    close(w)


def test_save_after_fit_asks_and_never_overwrites(qtbot, settings, tmp_path, monkeypatch):
    wav = tmp_path / "tone.wav"
    write_audio(wav, 0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)[None], SR)
    older = tmp_path / "tone.atoms"
    save(small_set(), older)
    before = older.read_bytes()

    def fake_fit(audio, *, sample_rate, progress):
        return AtomSet(sample_rate=sample_rate, channels=1,
                       resonant=ResonantAtoms(onset_s=[0.0], f0_hz=[440.0]))

    import atomsynth.gui.app as app_mod

    monkeypatch.setattr(app_mod, "find_analyzer", lambda kind=None: (fake_fit, "fit"))
    w = make_window(qtbot, settings, tmp_path, atom_set=small_set())
    assert w.open_path(wav)
    qtbot.waitUntil(lambda: not w.jobs, timeout=10000)
    asked = []

    def dialog(parent, title, start, filt):
        asked.append(start)
        return "", ""  # the user cancels

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    assert not w.save()  # Ctrl+S on the fit: asks, and nothing is written
    assert asked == [str(tmp_path / "tone.atoms")]
    assert older.read_bytes() == before
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "tone_fit.atoms"), ""))
    assert w.save() and w.doc.path == tmp_path / "tone_fit.atoms"
    assert older.read_bytes() == before
    close(w)


def test_bundled_example_save_asks_and_package_is_never_written(qtbot, settings, tmp_path,
                                                                 monkeypatch):
    from atomsynth.rt.examples import examples_dir

    examples = sorted(examples_dir().glob("*.atoms"))
    if not examples:
        pytest.skip("no bundled examples installed")
    ex = examples[0]
    before = ex.read_bytes()
    monkeypatch.setattr("atomsynth.gui.recovery.user_documents_dir", lambda: tmp_path)
    monkeypatch.setattr("atomsynth.gui.app.user_documents_dir", lambda: tmp_path)
    w = make_window(qtbot, settings, tmp_path, path=ex)
    w.doc.select(Selection.of([0]))
    w.doc.delete_selection()
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda p, t, start, f: (asked.append(start), ("", ""))[1])
    assert not w.save()
    assert asked and Path(asked[0]).parent == tmp_path  # not the package folder
    # Even a path chosen inside the package is refused, with a message.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(ex), ""))
    assert not w.save_as()
    assert "installed package" in w.errors[-1]
    assert ex.read_bytes() == before and not session_path_for(ex).exists()
    close(w)


def test_autosave_and_recovery_after_a_crash(qtbot, settings, tmp_path, monkeypatch):
    src = tmp_path / "a.atoms"
    save(small_set(), src)
    w = make_window(qtbot, settings, tmp_path, path=src)
    w.doc.select(Selection.of([0, 1]))
    w.doc.delete_selection()
    w.macros.set_macro("decay", 2.0)
    rec = w.autosave()
    assert rec is not None and rec.is_file() and session_path_for(rec).is_file()
    edited = w.doc.atom_set
    # Simulate a crash: the files belong to a process that is gone.
    dead = rec.with_name("autosave-999999999.atoms")
    for p in (rec, session_path_for(rec), rec.with_suffix(".json")):
        p.rename(p.with_name(p.name.replace(rec.stem, dead.stem)))
    w.doc.undo_stack.setClean()
    w.close()
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: (asked.append(a[1]), QMessageBox.StandardButton.Yes)[1])
    w2 = make_window(qtbot, settings, tmp_path, atom_set=AtomSet(), offer_recovery=True)
    assert asked and "Recover" in asked[0]
    assert w2.doc.atom_set == edited and w2.doc.dirty and w2.doc.path == src
    assert w2.mix.macros["decay"] == 2.0
    assert not dead.exists()  # taken over by the new window
    assert load(src) == small_set()  # the original file is untouched until saved
    close(w2)
    assert not list((tmp_path / "recovery").glob("*.atoms"))  # clean quit: nothing left


def test_quit_after_discard_prints_no_error(tmp_path):
    """The closing window's undo stack must not signal a deleted document (stderr clean)."""
    import subprocess
    import sys

    script = tmp_path / "quit.py"
    script.write_text(f"""
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication, QMessageBox
from PySide6.QtCore import QTimer
app = QApplication([])
from atomsynth.gui.app import MainWindow
from atomsynth.gui.document import Selection
w = MainWindow(audio=False, recovery_dir={str(tmp_path / 'rec')!r})
w.show()
w.doc.select(Selection.of([0])); w.doc.delete_selection()
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
QTimer.singleShot(300, w.close)
QTimer.singleShot(800, app.quit)
app.exec()
del w
print("quit ok")
""")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1],
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve()
                                                                .parents[1])})
    assert "quit ok" in proc.stdout
    assert "RuntimeError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_session_file_errors_name_the_problem(tmp_path):
    with pytest.raises(SessionError, match="format"):
        parse_session('{"format": "x", "version": 1}')
    with pytest.raises(SessionError, match="version"):
        parse_session('{"format": "atomsynth-session", "version": 7}')
    with pytest.raises(SessionError, match="macro 'wobble'"):
        parse_session('{"format": "atomsynth-session", "version": 1, "macros": {"wobble": 1}}')
    with pytest.raises(SessionError, match="groups.0.gain_db"):
        parse_session('{"format": "atomsynth-session", "version": 1, '
                      '"groups": {"0": {"gain_db": "loud"}}}')
    with pytest.raises(SessionError, match="not JSON"):
        parse_session("{")
    with pytest.raises(SessionError, match="cannot read"):
        read_session(tmp_path / "missing.atomsession.json")
