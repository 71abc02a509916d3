"""The inspector: parameters of the selected atoms, with units and ranges, and selection tools.

One spin box per parameter of :data:`RESONANT_PARAMS` / :data:`MDCT_PARAMS` (range, unit and
meaning from the tables). With several atoms selected a box shows the first atom's value and its
label is marked "≠" when the atoms differ; editing it sets the value on all selected atoms of
that family. Below: apply a resonance preset, move to a group, select a group, delete, duplicate.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from atomsynth.gui.document import Selection
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.params import MDCT_PARAMS, RESONANT_PARAMS, ParamSpec
from atomsynth.rt.presets import available_presets


def _decimals(spec: ParamSpec) -> int:
    if spec.is_integer:
        return 0
    if spec.name in ("onset_s", "attack_s", "t60_s"):
        return 4
    if spec.unit == "Hz":
        return 2
    return 3


class ParamBox(QDoubleSpinBox):
    """A spin box for one parameter, unit and tooltip from its :class:`ParamSpec`.

    It accepts any number typed (the spin box does not clamp): the document refuses a value
    outside the parameter's range with a message naming it, instead of a silent clamp.
    ``names`` (value -> name) shows index parameters (preset, room) by name.
    """

    ENTRY_LIMIT = 1e12

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.spec = spec
        self.names: dict[int, str] = {}
        self.setDecimals(_decimals(spec))
        self.setRange(-self.ENTRY_LIMIT, self.ENTRY_LIMIT)
        if spec.unit:
            self.setSuffix(f" {spec.unit}")
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setToolTip(f"{spec.name}: {spec.doc}\nrange {spec.range_text()}")

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt naming
        name = self.names.get(int(round(value)))
        if name is not None:
            return f"{int(round(value))}: {name}"
        return super().textFromValue(value)

    def valueFromText(self, text: str) -> float:  # noqa: N802
        head = text.split(":", 1)[0] if self.names else text
        return super().valueFromText(head.strip())

    def validate(self, text: str, pos: int):
        if self.names and ":" in text:
            return (QValidator.State.Acceptable, text, pos)
        return super().validate(text, pos)


class Inspector(QWidget):
    """Signals: ``param_edited(family, name, value)``, ``preset_requested(name)``,
    ``regroup_requested(group, name)``, ``select_group_requested(group, add)``,
    ``delete_requested()``, ``duplicate_requested()``."""

    param_edited = Signal(str, str, float)
    preset_requested = Signal(str)
    regroup_requested = Signal(int, str)
    select_group_requested = Signal(int, bool)
    delete_requested = Signal()
    duplicate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel("nothing selected")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self._body = QVBoxLayout(body)
        self._body.setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        self.boxes: dict[str, dict[str, ParamBox]] = {}
        self.labels: dict[str, dict[str, QLabel]] = {}
        self.groups: dict[str, QGroupBox] = {}
        for family, specs in (("resonant", RESONANT_PARAMS), ("mdct", MDCT_PARAMS)):
            gb = QGroupBox(f"{family} atoms")
            form = QFormLayout(gb)
            form.setContentsMargins(4, 4, 4, 4)
            self.boxes[family], self.labels[family] = {}, {}
            for spec in specs:
                box = ParamBox(spec)
                box.valueChanged.connect(
                    lambda v, f=family, n=spec.name: self.param_edited.emit(f, n, float(v)))
                label = QLabel(spec.name)
                label.setToolTip(box.toolTip())
                form.addRow(label, box)
                self.boxes[family][spec.name] = box
                self.labels[family][spec.name] = label
            self.groups[family] = gb
            self._body.addWidget(gb)
            gb.setVisible(False)

        tools = QGroupBox("selection")
        tl = QFormLayout(tools)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(available_presets()))
        apply_btn = QPushButton("apply")
        apply_btn.setToolTip("give the selected resonant atoms this resonance preset's modes")
        apply_btn.clicked.connect(
            lambda: self.preset_requested.emit(self.preset_combo.currentText()))
        row = QHBoxLayout()
        row.addWidget(self.preset_combo, 1)
        row.addWidget(apply_btn)
        tl.addRow("preset", row)

        self.group_spin = QSpinBox()
        self.group_spin.setRange(0, 65535)
        self.group_name = QLineEdit()
        self.group_name.setPlaceholderText("name (optional)")
        move_btn = QPushButton("move")
        move_btn.setToolTip("move the selected atoms into this group")
        move_btn.clicked.connect(lambda: self.regroup_requested.emit(
            self.group_spin.value(), self.group_name.text().strip()))
        row = QHBoxLayout()
        row.addWidget(self.group_spin)
        row.addWidget(self.group_name, 1)
        row.addWidget(move_btn)
        tl.addRow("to group", row)

        self.select_combo = QComboBox()
        sel_btn = QPushButton("select")
        sel_btn.clicked.connect(self._select_group)
        row = QHBoxLayout()
        row.addWidget(self.select_combo, 1)
        row.addWidget(sel_btn)
        tl.addRow("group", row)

        row = QHBoxLayout()
        self.delete_btn = QPushButton("delete")
        self.delete_btn.clicked.connect(self.delete_requested)
        self.dup_btn = QPushButton("duplicate")
        self.dup_btn.clicked.connect(self.duplicate_requested)
        row.addWidget(self.delete_btn)
        row.addWidget(self.dup_btn)
        tl.addRow("", row)
        outer.addWidget(tools)

    def _select_group(self) -> None:
        g = self.select_combo.currentData()
        if g is not None:
            self.select_group_requested.emit(int(g), False)

    def set_groups(self, atom_set: AtomSet) -> None:
        current = self.select_combo.currentData()
        self.select_combo.blockSignals(True)
        self.select_combo.clear()
        for g in atom_set.groups:
            self.select_combo.addItem(f"{int(g)}: {atom_set.group_name(int(g))}", int(g))
        i = self.select_combo.findData(current)
        if i >= 0:
            self.select_combo.setCurrentIndex(i)
        self.select_combo.blockSignals(False)

    def show_selection(self, atom_set: AtomSet, selection: Selection) -> None:
        """Fill the boxes from the selected atoms (without emitting edits)."""
        nr, nm = selection.resonant.size, selection.mdct.size
        if not nr and not nm:
            self.summary.setText(f"nothing selected ({len(atom_set.resonant)} resonant, "
                                 f"{len(atom_set.mdct)} MDCT atoms in the set); click or "
                                 "Shift+drag in the view, or select a group")
        else:
            self.summary.setText(f"{nr} resonant, {nm} MDCT atom(s) selected")
        for family, idx in (("resonant", selection.resonant), ("mdct", selection.mdct)):
            self.groups[family].setVisible(bool(idx.size))
            if not idx.size:
                continue
            atoms = getattr(atom_set, family)
            if family == "resonant":
                self.boxes[family]["preset"].names = {
                    -1: "parametric", **{i: t.name for i, t in enumerate(atom_set.mode_tables)}}
                self.boxes[family]["room"].names = {
                    -1: "dry", **dict(enumerate(atom_set.room_names))}
            for name, box in self.boxes[family].items():
                col = atoms[name][idx]
                first = float(col[0])
                mixed = bool(np.any(col != col[0]))
                box.blockSignals(True)
                box.setValue(first if math.isfinite(first) else box.minimum())
                box.blockSignals(False)
                label = self.labels[family][name]
                label.setText(f"{name} ≠" if mixed else name)
                label.setToolTip(box.toolTip() + (f"\nvalues differ: {col.min():g} .. "
                                                  f"{col.max():g}" if mixed else ""))
        self.delete_btn.setEnabled(bool(nr or nm))
        self.dup_btn.setEnabled(bool(nr or nm))
