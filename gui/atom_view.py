"""The atom view: atoms over time and log frequency, the spectrogram, the waveform, a playhead.

Every atom is one point of a single :class:`pyqtgraph.ScatterPlotItem` (x = onset in s, y =
log10 of the fundamental or MDCT bin-centre frequency in Hz, size from the gain, colour by group
or preset); resonant atoms' decays are line segments (one :class:`PlotCurveItem` with
``connect="pairs"``) from the onset to the onset plus ``t60_s``. Items are built once and fed
with ``setData`` when the atom set changes; the playhead is moved from a timer.

Mouse (in the atom plot):

* click an atom: select it (Ctrl: toggle it); click empty space: clear the selection;
* drag a selected atom: move the selection in time and pitch (one undoable edit on release);
  the grabbed atom lands on the grid (:class:`~atomsynth.gui.grid.Grid`: semitone, cent or
  scale in pitch, the tempo grid in time) when snapping is on; Shift+drag on an atom moves
  along one axis only (the one moved most: time or pitch);
* Shift+drag from empty space (or any drag in select mode): rubber-band selection
  (Ctrl+Shift: add);
* other drags pan, the wheel zooms (right-drag zooms per axis), as usual in pyqtgraph.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from atomsynth.gui.document import Selection
from atomsynth.gui.grid import Grid, note_name
from atomsynth.gui.spectrogram import SpectrogramImage
from atomsynth.rt.atoms import AtomSet

PALETTE = ("#4e9cff", "#ff8c42", "#3ddc97", "#ff5e7e", "#b48cff", "#ffd166", "#5ee6eb",
           "#f78fb3", "#9bd770", "#c08457", "#8aa1ff", "#e0e0e0")
"""Colours of groups (and presets), cycled."""

MAX_TAILS = 20000
"""At most this many decay tails are drawn (the loudest); beyond it the view stays fluid."""


def atom_coordinates(atom_set: AtomSet) -> dict[str, np.ndarray]:
    """Plot coordinates of all atoms: resonant atoms first, then MDCT atoms.

    Returns arrays of shape (n,): ``x`` onset (s), ``y`` log10 frequency (Hz), ``level_db``
    (resonant ``gain_db``; MDCT ``20 log10 |value|`` under the loudest MDCT atom),
    ``tail`` (decay end in s, = x for MDCT), ``group``, ``preset`` (-1 for MDCT) and
    ``family`` (0 resonant, 1 MDCT).
    """
    r, m = atom_set.resonant, atom_set.mdct
    sr = atom_set.sample_rate
    hop = m.scale.astype(np.float64) / 2
    mx = m.frame * hop / sr
    my = np.log10(np.maximum((m.bin + 0.5) * sr / m.scale, 1e-3))
    mag = np.abs(m.value)
    peak = mag.max() if mag.size and mag.max() > 0 else 1.0
    mlev = 20 * np.log10(np.maximum(mag / peak, 1e-6))
    return {
        "x": np.concatenate([r.onset_s, mx]),
        "y": np.concatenate([np.log10(r.f0_hz), my]),
        "level_db": np.concatenate([r.gain_db, mlev]),
        "tail": np.concatenate([r.onset_s + r.t60_s, mx]),
        "group": np.concatenate([r.group, m.group]).astype(np.int64),
        "preset": np.concatenate([r.preset, np.full(len(m), -1)]).astype(np.int64),
        "family": np.concatenate([np.zeros(len(r), np.int8), np.ones(len(m), np.int8)]),
    }


def point_sizes(level_db: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Marker diameters in whole pixels: 3 to 20 px, louder is bigger.

    Whole pixels keep pyqtgraph's symbol atlas small (one cached image per size, symbol and
    colour), which is what keeps redraws of 10,000 atoms fast.
    """
    ref = np.where(family == 0, 12.0, 0.0)  # resonant gains sit around -12 dB by default
    return np.round(np.clip(11.0 + (level_db - ref) / 5.0, 3.0, 20.0))


def _hz_text(f: float) -> str:
    return f"{f:.0f}" if f < 1000 else f"{f / 1000:.3g}k"


class NoteAxis(pg.AxisItem):
    """The log-frequency axis labelled in Hz and note names (``440 A4``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.show_notes = True

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph naming
        out = []
        for v in values:
            f = 10.0 ** v
            out.append(f"{_hz_text(f)} {note_name(f)}" if self.show_notes else _hz_text(f))
        return out


class _AtomViewBox(pg.ViewBox):
    """A ViewBox that hands left clicks and drags to the :class:`AtomView`."""

    def __init__(self, owner: AtomView) -> None:
        super().__init__()
        self._owner = owner
        self._mode: str | None = None

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - Qt naming
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._owner._click(self.mapSceneToView(ev.scenePos()), ev.modifiers())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._mode = self._owner._drag_mode(start, ev.modifiers())
        if self._mode == "pan" or self._mode is None:
            super().mouseDragEvent(ev, axis)
            if ev.isFinish():
                self._mode = None
            return
        ev.accept()
        a = self.mapSceneToView(ev.buttonDownScenePos())
        b = self.mapSceneToView(ev.scenePos())
        self._owner._drag(self._mode, a, b, ev.isFinish(), ev.modifiers())
        if ev.isFinish():
            self._mode = None


class AtomView(QWidget):
    """Atoms, spectrogram, waveform and playhead.

    Signals
    -------
    selection_requested(object)
        A :class:`Selection` the user picked.
    move_requested(float, float)
        Move the selection by (seconds, frequency ratio).
    seek_requested(float)
        The playhead was dragged to this time (s).
    loop_changed(float, float)
        The loop region was dragged (start, end in s).
    """

    selection_requested = Signal(object)
    move_requested = Signal(float, float)
    seek_requested = Signal(float)
    loop_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour_by = "group"
        self.select_mode = False
        self.grid = Grid()
        self._grab = -1
        self._coords: dict[str, np.ndarray] | None = None
        self._n_res = 0
        self._selection = Selection()
        self._frames = 0
        self._fps_t0 = time.perf_counter()
        self._fps_frames = 0
        self.fps = 0.0

        self._brush_cache = [pg.mkBrush(QColor(col).red(), QColor(col).green(),
                                        QColor(col).blue(), 190) for col in PALETTE]
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("#15171c")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.layout_widget)

        self.vb = _AtomViewBox(self)
        self.note_axis = NoteAxis("left")
        self.plot = self.layout_widget.addPlot(row=0, col=0, viewBox=self.vb,
                                               axisItems={"left": self.note_axis})
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "frequency (Hz, note)")
        self.plot.getAxis("left").setLogMode(True)
        self.plot.getAxis("left").setWidth(70)
        self.beat_lines = pg.PlotCurveItem(pen=pg.mkPen(255, 209, 102, 60, width=1),
                                           connect="pairs")
        self.beat_lines.setZValue(-5)
        self.plot.addItem(self.beat_lines, ignoreBounds=True)
        self.vb.sigRangeChanged.connect(lambda *_: self.update_beats())
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)

        self.spec_item = pg.ImageItem()
        self.spec_item.setZValue(-10)
        self.spec_item.setColorMap(pg.colormap.get("inferno"))
        self.spec_item.setOpacity(0.6)
        self.plot.addItem(self.spec_item)
        self.spec_item.setVisible(False)

        self.tails = pg.PlotCurveItem(pen=pg.mkPen(200, 200, 220, 70, width=1), connect="pairs")
        self.plot.addItem(self.tails)
        self.scatter = pg.ScatterPlotItem(pxMode=True, pen=None, hoverable=False)
        self.plot.addItem(self.scatter)
        self.sel_scatter = pg.ScatterPlotItem(pxMode=True, brush=None,
                                              pen=pg.mkPen("#ffffff", width=2))
        self.sel_scatter.setZValue(5)
        self.plot.addItem(self.sel_scatter)
        for item in (self.scatter, self.sel_scatter):  # clicks go to the ViewBox's handler
            item.mouseClickEvent = lambda ev: ev.ignore()
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=True,
                                        pen=pg.mkPen("#ffffff", width=1.5),
                                        hoverPen=pg.mkPen("#ffd166", width=2))
        self.playhead.setZValue(10)
        self.playhead.sigPositionChangeFinished.connect(
            lambda line: self.seek_requested.emit(max(0.0, float(line.value()))))
        self.plot.addItem(self.playhead)
        self.band = QGraphicsRectItem()
        self.band.setPen(QPen(QColor("#ffd166"), 0))
        self.band.setBrush(QBrush(QColor(255, 209, 102, 40)))
        self.band.setZValue(20)
        self.band.setVisible(False)
        self.vb.addItem(self.band, ignoreBounds=True)

        self.wave_plot = self.layout_widget.addPlot(row=1, col=0)
        self.wave_plot.setMaximumHeight(110)
        self.wave_plot.setXLink(self.plot)
        self.wave_plot.hideAxis("bottom")
        self.wave_plot.setLabel("left", "mix")
        self.wave_plot.getAxis("left").enableAutoSIPrefix(False)
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.setMenuEnabled(False)
        self.wave = self.wave_plot.plot(pen=pg.mkPen("#4e9cff", width=1))
        self.wave.setDownsampling(auto=True, method="peak")
        self.wave.setClipToView(True)
        self.wave_head = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen("#ffffff", width=1))
        self.wave_plot.addItem(self.wave_head)
        self.loop_region = pg.LinearRegionItem((0.0, 1.0), brush=pg.mkBrush(255, 209, 102, 35))
        self.loop_region.setVisible(False)
        self.loop_region.sigRegionChangeFinished.connect(
            lambda r: self.loop_changed.emit(*map(float, r.getRegion())))
        self.wave_plot.addItem(self.loop_region)
        self.layout_widget.ci.layout.setRowStretchFactor(0, 5)
        self.layout_widget.ci.layout.setRowStretchFactor(1, 1)

    # -- data -----------------------------------------------------------------------------
    def set_atom_set(self, atom_set: AtomSet, *, reset_range: bool = False) -> None:
        """Redraw all atoms (one ``setData`` per item)."""
        c = atom_coordinates(atom_set)
        self._coords = c
        self._n_res = len(atom_set.resonant)
        self._sizes = point_sizes(c["level_db"], c["family"])
        self._refresh_points()
        # Decay tails, the loudest ones when there are very many.
        res = np.flatnonzero(c["family"] == 0)
        if res.size > MAX_TAILS:
            res = res[np.argsort(c["level_db"][res])[-MAX_TAILS:]]
        xs = np.empty(2 * res.size)
        ys = np.empty(2 * res.size)
        xs[0::2], xs[1::2] = c["x"][res], c["tail"][res]
        ys[0::2] = ys[1::2] = c["y"][res]
        self.tails.setData(xs, ys, connect="pairs")
        self._refresh_selection()
        if reset_range:
            self.reset_range(atom_set)

    def reset_range(self, atom_set: AtomSet) -> None:
        c = self._coords
        end = max(atom_set.length_s, float(c["x"].max()) if c["x"].size else 0.0, 0.5)
        lo = float(c["y"].min()) - 0.15 if c["y"].size else 1.5
        hi = float(c["y"].max()) + 0.15 if c["y"].size else 4.3
        self.plot.setXRange(0, end, padding=0.02)
        self.plot.setYRange(lo, hi, padding=0)

    def _brushes(self) -> list:
        c = self._coords
        key = c["group"] if self.colour_by == "group" else c["preset"] + 1
        cache = self._brush_cache
        return [cache[k % len(cache)] for k in key.tolist()]

    def _refresh_points(self) -> None:
        c = self._coords
        if c is None:
            return
        symbols = np.where(c["family"] == 0, "o", "s")
        self.scatter.setData(x=c["x"], y=c["y"], size=self._sizes, brush=self._brushes(),
                             symbol=symbols.tolist(), pen=None)

    def set_colour_by(self, what: str) -> None:
        """``"group"`` or ``"preset"``."""
        self.colour_by = what
        self._refresh_points()

    def set_selection(self, selection: Selection) -> None:
        self._selection = selection
        self._refresh_selection()

    def _combined(self, selection: Selection) -> np.ndarray:
        return np.concatenate([selection.resonant, selection.mdct + self._n_res])

    def _refresh_selection(self) -> None:
        c = self._coords
        if c is None:
            return
        idx = self._combined(self._selection)
        idx = idx[idx < c["x"].size]
        self.sel_scatter.setPos(0, 0)
        self.sel_scatter.setData(x=c["x"][idx], y=c["y"][idx], size=self._sizes[idx] + 4,
                                 brush=None, pen=pg.mkPen("#ffffff", width=2))

    def set_spectrogram(self, spec: SpectrogramImage | None) -> None:
        if spec is None:
            self.spec_item.clear()
            return
        levels = (-85.0, 15.0)  # kept dark so the atoms stand out
        self.spec_item.setImage(spec.db, levels=levels, autoLevels=False)
        y0, y1 = np.log10(spec.fmin_hz), np.log10(spec.fmax_hz)
        self.spec_item.setRect(QRectF(0.0, y0, spec.duration_s, y1 - y0))

    def show_spectrogram(self, on: bool) -> None:
        self.spec_item.setVisible(bool(on))

    def set_waveform(self, audio: np.ndarray | None, sample_rate: int) -> None:
        if audio is None or audio.size == 0:
            self.wave.setData([], [])
            return
        mono = audio.mean(axis=0)
        self.wave.setData(np.arange(mono.size) / sample_rate, mono)

    def set_loop(self, region: tuple[float, float] | None) -> None:
        if region is None:
            self.loop_region.setVisible(False)
        else:
            self.loop_region.blockSignals(True)
            self.loop_region.setRegion(region)
            self.loop_region.blockSignals(False)
            self.loop_region.setVisible(True)

    # -- timer ----------------------------------------------------------------------------
    def set_playhead(self, seconds: float) -> None:
        """Move the playhead (called from the window's timer); counts view frames."""
        if not self.playhead.moving:
            self.playhead.setValue(seconds)
        self.wave_head.setValue(seconds)
        self._fps_frames += 1
        now = time.perf_counter()
        if now - self._fps_t0 >= 1.0:
            self.fps = self._fps_frames / (now - self._fps_t0)
            self._fps_frames, self._fps_t0 = 0, now

    # -- mouse ----------------------------------------------------------------------------
    def snapped_delta(self, dx: float, dy: float, constrain: bool) -> tuple[float, float]:
        """A drag of (dx s, dy log10 Hz) snapped so that the grabbed atom lands on the grid;
        ``constrain``: only along the axis moved most (in pixels)."""
        if constrain:
            px, py = self.vb.viewPixelSize()
            if abs(dx / px) >= abs(dy / py):
                dy = 0.0
            else:
                dx = 0.0
        i, c = self._grab, self._coords
        if i < 0 or c is None or i >= c["x"].size:
            return dx, dy
        if dx and self.grid.time_snap:
            dx = float(self.grid.snap_s(c["x"][i] + dx)) - float(c["x"][i])
        if dy and self.grid.pitch_mode != "off":
            y0 = float(c["y"][i])
            dy = float(np.log10(self.grid.snap_hz(10.0 ** (y0 + dy)))) - y0
        return dx, dy

    def hit(self, pos) -> int:
        """Combined index of the atom drawn under ``pos`` (view coordinates), or -1."""
        c = self._coords
        if c is None or not c["x"].size:
            return -1
        px, py = self.vb.viewPixelSize()
        d2 = ((c["x"] - pos.x()) / px) ** 2 + ((c["y"] - pos.y()) / py) ** 2
        i = int(np.argmin(d2))
        radius = max(5.0, self._sizes[i] / 2 + 2)
        return i if d2[i] <= radius * radius else -1

    def _to_selection(self, combined: np.ndarray) -> Selection:
        combined = np.asarray(combined, dtype=np.int64)
        return Selection.of(combined[combined < self._n_res],
                            combined[combined >= self._n_res] - self._n_res)

    def _click(self, pos, modifiers) -> None:
        i = self.hit(pos)
        current = self._combined(self._selection)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            if i < 0:
                return
            new = current[current != i] if i in current else np.r_[current, i]
            self.selection_requested.emit(self._to_selection(new))
        else:
            self.selection_requested.emit(self._to_selection([i] if i >= 0 else []))

    def update_beats(self) -> None:
        """Draw the tempo grid over the visible range (when it is shown)."""
        if not self.grid.show_beats:
            self.beat_lines.setData([], [])
            return
        (t0, t1), (y0, y1) = self.vb.viewRange()
        beats = self.grid.beats_in(t0, t1)
        xs = np.repeat(beats, 2)
        ys = np.tile([y0, y1], beats.size)
        self.beat_lines.setData(xs, ys, connect="pairs")

    def set_grid(self, grid: Grid) -> None:
        self.grid = grid
        self.update_beats()

    def _drag_mode(self, start, modifiers) -> str:
        i = self.hit(start)
        self._grab = i
        if self.select_mode or (modifiers & Qt.KeyboardModifier.ShiftModifier and i < 0):
            return "band"
        if i >= 0:
            if i not in self._combined(self._selection):
                self.selection_requested.emit(self._to_selection([i]))
            return "move"
        return "pan"

    def _drag(self, mode: str, a, b, finish: bool, modifiers) -> None:
        if mode == "band":
            rect = QRectF(a, b).normalized()
            self.band.setRect(rect)
            self.band.setVisible(not finish)
            if finish:
                c = self._coords
                inside = np.flatnonzero((c["x"] >= rect.left()) & (c["x"] <= rect.right())
                                        & (c["y"] >= rect.top()) & (c["y"] <= rect.bottom()))
                if modifiers & Qt.KeyboardModifier.ControlModifier:
                    inside = np.r_[self._combined(self._selection), inside]
                self.selection_requested.emit(self._to_selection(inside))
        elif mode == "move":
            dx, dy = self.snapped_delta(b.x() - a.x(), b.y() - a.y(),
                                        bool(modifiers & Qt.KeyboardModifier.ShiftModifier))
            if finish:
                self.sel_scatter.setPos(0, 0)
                if dx or dy:
                    self.move_requested.emit(float(dx), float(10.0 ** dy))
            else:
                self.sel_scatter.setPos(dx, dy)
