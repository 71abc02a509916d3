"""Plugins in the app (issue 13, part 2): VST3 bundles chosen through the dialog as bundles,
the standard folders scanned into a browser, parameters shown with names and units,
failures in one line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QDialog, QLineEdit  # noqa: E402

from atomsynth.gui.plugins import (  # noqa: E402
    PluginBrowser,
    PluginFileDialog,
    scan_vst3,
    standard_vst3_dirs,
    vst3_dirs,
)
from tests.test_gui import (  # noqa: E402,F401
    atoms_file,
    settings,
    win,  # noqa: E402,F401 - the window fixture
)


@pytest.fixture(scope="module")
def test_plugin():
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    if dpf_missing_reason():
        pytest.skip(dpf_missing_reason())
    return build_test_gain_plugin(Path(os.environ.get("ATOMSYNTH_PLUGIN_BUILD",
                                                      "/tmp/atomsynth-test-plugins")))


@pytest.fixture
def plugin_dir(tmp_path, test_plugin):
    """A folder with the test bundle nested one level down, like a vendor folder."""
    d = tmp_path / "plugins"
    shutil.copytree(test_plugin, d / "Vendor" / test_plugin.name, symlinks=True)
    return d


def test_standard_folders_and_scan(plugin_dir, monkeypatch):
    import sys

    if sys.platform.startswith("linux"):
        assert {str(p) for p in standard_vst3_dirs()} >= {
            str(Path.home() / ".vst3"), "/usr/lib/vst3", "/usr/local/lib/vst3"}
    monkeypatch.setenv("VST3_PATH", str(plugin_dir))
    dirs = vst3_dirs(["/nonexistent/folder"])
    assert dirs[0] == Path("/nonexistent/folder") and dirs[1] == plugin_dir
    found = scan_vst3([plugin_dir])
    bundle = plugin_dir / "Vendor" / "atomsynth-test-gain.vst3"
    assert found == [bundle.resolve()]  # the bundle, not the .so inside it


def test_dialog_chooses_the_bundle_when_entered(qtbot, plugin_dir):
    """Typing the bundle's name and pressing Enter (what double-click does too) chooses the
    bundle instead of opening it as a folder."""
    vendor = plugin_dir / "Vendor"
    dlg = PluginFileDialog(None, vendor)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    edit = dlg.findChild(QLineEdit, "fileNameEdit")
    assert edit is not None
    edit.setText("atomsynth-test-gain.vst3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=5000)
    assert dlg.result() == QDialog.DialogCode.Accepted
    assert dlg.chosen == vendor / "atomsynth-test-gain.vst3"


def test_browser_lists_and_loads_the_bundle_into_the_chain(qtbot, win, plugin_dir,  # noqa: F811
                                                           monkeypatch, tmp_path):
    monkeypatch.setenv("VST3_PATH", "")
    monkeypatch.setattr("atomsynth.gui.plugins.standard_vst3_dirs", lambda: [])
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    browser = PluginBrowser(None, store)  # never shown: not a candidate for pick() below
    assert browser.list.count() == 0
    browser.add_folder(plugin_dir)  # the user's own folder, remembered in the settings
    assert [p.name for p in browser.paths()] == ["atomsynth-test-gain.vst3"]
    assert PluginBrowser(None, store).list.count() == 1
    # The panel's VST3… button opens the browser; Load puts the plugin in the chain.
    win.effects.settings = store

    def pick():
        from PySide6.QtWidgets import QApplication

        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, PluginBrowser):
            dlg = next(w for w in qtbot_top_levels()
                       if isinstance(w, PluginBrowser) and w.isVisible())
        dlg.list.setCurrentRow(0)
        dlg.load_button.click()

    QTimer.singleShot(200, pick)
    win.effects._add_vst3_dialog()
    assert [e.path.name for e in win.chain.inserts] == ["atomsynth-test-gain.vst3"]
    # Parameters by name and unit, values as the plugin shows them (not 0..1).
    labels = [win.effects.params_form.itemAt(i, win.effects.params_form.ItemRole.LabelRole)
              .widget().text() for i in range(win.effects.params_form.rowCount())]
    assert "Gain [dB]" in labels
    p, slider = next((p, s) for p, s in win.effects.sliders if p.name == "gain_db")
    slider.setValue(750)
    value_label = win.effects.params_form.itemAt(
        labels.index("Gain [dB]"), win.effects.params_form.ItemRole.FieldRole).layout() \
        .itemAt(1).widget()
    assert value_label.text().endswith("dB") and "-6" in value_label.text()
    # Offscreen the editor cannot open: one clear message, no crash.
    assert win.effects.editor_button.isVisibleTo(win.effects)
    win.effects.open_editor()
    assert "editor" in win.errors[-1] and "\n" not in win.errors[-1]


def qtbot_top_levels():
    from PySide6.QtWidgets import QApplication

    return QApplication.topLevelWidgets()


def test_plugin_failure_is_one_line(win, test_plugin):  # noqa: F811
    so = next(test_plugin.rglob("*.so"), None)
    target = so if so is not None else test_plugin / "missing"
    assert not win.effects.add_vst3(str(target))
    msg = win.errors[-1]
    assert "\n" not in msg and target.name in msg
