"""The musical grid (issue 13, part 3), through the real widgets offscreen: snapped drags,
note names, tempo grid, arrow-key nudges, Shift constrain, undo from a field, names for
presets and rooms, out-of-range values refused with a message."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from atomsynth.gui.document import Selection  # noqa: E402
from atomsynth.gui.grid import Grid, midi_of, note_name  # noqa: E402
from tests.test_gui import atoms_file, drag, settings, small_set, view_point, win  # noqa: E402,F401


def test_grid_math():
    g = Grid(pitch_mode="semitone")
    assert note_name(440.0) == "A4" and note_name(261.6256) == "C4"
    assert note_name(446.0, cents=True) == "A4 +23¢"
    np.testing.assert_allclose(g.snap_hz([330.0, 452.0]), [329.6275569128699, 440.0])
    g.pitch_mode = "cent"
    c = float(midi_of(g.snap_hz(331.0))) * 100
    assert abs(c - round(c)) < 1e-9
    g.pitch_mode, g.scale, g.root = "scale", "major", 0  # C major: F# -> F or G
    np.testing.assert_allclose(midi_of(g.snap_hz(370.0)), 67.0)  # 370 Hz ~ F#4+ -> G4
    g.time_snap, g.bpm, g.division = True, 120.0, 4
    np.testing.assert_allclose(g.snap_s([0.06, 0.2]), [0.0, 0.25])
    assert g.snap_semitones(2.7) == 3.0


def test_drag_snaps_the_atom_to_the_semitone(qtbot, win):  # noqa: F811
    win.grid_bar.pitch_combo.setCurrentText("semitone")
    assert win.grid.pitch_mode == "semitone"
    s = win.doc.atom_set
    # Atom 1: 330 Hz, 1.7 cents above E4; drag it up about 3.4 semitones and right.
    a = view_point(win, s.resonant.onset_s[1], np.log10(s.resonant.f0_hz[1]))
    b = view_point(win, s.resonant.onset_s[1] + 0.05, np.log10(330.0 * 2 ** (3.4 / 12)))
    drag(qtbot, win, QPointF(a), QPointF(b))
    f = win.doc.atom_set.resonant.f0_hz[1]
    m = float(midi_of(f))
    assert abs(m - round(m)) < 1e-9 and round(m) == 67  # G4, exactly on the semitone
    assert win.doc.atom_set.resonant.onset_s[1] > s.resonant.onset_s[1]
    win.undo_action.trigger()
    assert win.doc.atom_set == small_set()


def test_shift_constrains_and_time_snaps(qtbot, win):  # noqa: F811
    win.grid_bar.time_check.setChecked(True)
    win.grid_bar.bpm.setValue(120.0)
    win.grid_bar.division.setValue(4)  # steps of 0.125 s
    s = win.doc.atom_set
    a = view_point(win, s.resonant.onset_s[2], np.log10(s.resonant.f0_hz[2]))
    b = view_point(win, s.resonant.onset_s[2] + 0.21, np.log10(s.resonant.f0_hz[2] * 1.03))
    drag(qtbot, win, QPointF(a), QPointF(b), Qt.KeyboardModifier.ShiftModifier)
    r = win.doc.atom_set.resonant
    assert r.f0_hz[2] == s.resonant.f0_hz[2]  # Shift: time only (moved more in time)
    assert r.onset_s[2] == pytest.approx(0.75, abs=1e-12)  # 0.55 + 0.21 -> grid 0.75
    # Shift+drag from empty space still draws a rubber band.
    a = view_point(win, 0.0, np.log10(150.0))
    b = view_point(win, 0.4, np.log10(500.0))
    drag(qtbot, win, QPointF(a), QPointF(b), Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.selection == Selection.of([0, 1])


def test_note_names_and_beat_lines(win):  # noqa: F811
    labels = win.view.note_axis.tickStrings([np.log10(440.0), np.log10(1046.5)], 1, 0.1)
    assert labels == ["440 A4", "1.05k C6"]
    win.grid_bar.beats_check.setChecked(True)
    win.view.plot.setXRange(0, 1.0, padding=0)
    x = win.view.beat_lines.xData
    assert x is not None and x.size >= 2 * 8  # 120 BPM, 4 steps/beat: every 0.125 s
    np.testing.assert_allclose(np.unique(x)[:3], [0.0, 0.125, 0.25], atol=1e-12)


def test_arrow_keys_nudge_the_selection(qtbot, win):  # noqa: F811
    win.doc.select(Selection.of([0]))
    win.view.setFocus()
    win.view.layout_widget.setFocus()
    qtbot.keyClick(win.view.layout_widget, Qt.Key.Key_Up)
    assert win.doc.atom_set.resonant.f0_hz[0] == pytest.approx(220.0 * 2 ** (1 / 12), rel=1e-12)
    qtbot.keyClick(win.view.layout_widget, Qt.Key.Key_Right)
    assert win.doc.atom_set.resonant.onset_s[0] == pytest.approx(0.06, abs=1e-12)  # 10 ms
    qtbot.keyClick(win.view.layout_widget, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.atom_set.resonant.f0_hz[0] == pytest.approx(110.0 * 2 ** (1 / 12),
                                                               rel=1e-12)


def test_undo_while_an_inspector_field_has_focus(qtbot, win):  # noqa: F811
    win.doc.select(Selection.of([2]))
    box = win.inspector.boxes["resonant"]["t60_s"]
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.5")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert win.doc.atom_set.resonant.t60_s[2] == 0.5
    assert box.hasFocus() or box.lineEdit().hasFocus()
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert win.doc.atom_set == small_set()
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert win.doc.atom_set.resonant.t60_s[2] == 0.5
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.atom_set.resonant.t60_s[2] == 0.5


def test_out_of_range_typed_value_is_refused_not_clamped(qtbot, win):  # noqa: F811
    win.doc.select(Selection.of([1]))
    box = win.inspector.boxes["resonant"]["f0_hz"]
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "99999")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert win.doc.atom_set == small_set()  # nothing changed, and not 9,999 either
    assert "f0_hz" in win.errors[-1] and "99999" in win.errors[-1]
    assert box.value() == 330.0


def test_presets_and_rooms_by_name(qtbot, win):  # noqa: F811
    win.doc.select(Selection.of([0]))
    win.doc.apply_preset_to_selection("marimba")
    win.doc.set_room("hall", 0.3)
    win.inspector.show_selection(win.doc.atom_set, win.doc.selection)
    assert win.inspector.boxes["resonant"]["preset"].text() == "0: marimba"
    assert win.inspector.boxes["resonant"]["room"].text() == "0: hall"
    win.doc.select(Selection.of([1]))
    assert win.inspector.boxes["resonant"]["preset"].text() == "-1: parametric"
    assert win.inspector.boxes["resonant"]["room"].text() == "-1: dry"


def test_pitch_macro_snaps_to_semitones(win):  # noqa: F811
    from atomsynth.gui.macros import MACRO_SLIDERS

    spec = next(m for m in MACRO_SLIDERS if m.name == "pitch")
    win.grid_bar.pitch_combo.setCurrentText("semitone")
    pos = win.macros._pos(spec, 2 ** (3.1 / 12))
    win.macros.sliders["pitch"].setValue(pos)
    assert win.mix.macros["pitch"] == 2 ** (3 / 12)
    win.grid_bar.pitch_combo.setCurrentText("cent")
    win.macros.sliders["pitch"].setValue(pos + 1)
    semis = 12 * np.log2(win.mix.macros["pitch"])
    assert abs(semis * 100 - round(semis * 100)) < 1e-6
