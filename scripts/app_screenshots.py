"""Screenshots of the app's panels for docs/app.md, drawn offscreen.

    python scripts/app_screenshots.py [OUTDIR]        # default docs/img

Needs the DPF test plugin (tests/support/build_dpf_plugin.sh) for the plugin pictures.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(outdir: Path) -> None:
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from atomsynth.gui.app import MainWindow
    from atomsynth.gui.fit_dialog import FitSettingsDialog
    from atomsynth.gui.plugins import PluginBrowser
    from atomsynth.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(["atomsynth"])
    apply_dark_theme(app)
    pg.setConfigOptions(antialias=True)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="atomsynth-shots-"))
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)

    def wait(win):
        while win.jobs:
            app.processEvents()
        app.processEvents()

    def save(widget, name):
        app.processEvents()
        widget.grab().save(str(outdir / name))
        print("wrote", outdir / name)

    # 1. A recording atomized, the residual's spectrogram, the grid bar with semitone snap.
    win = MainWindow(audio=False, settings=settings, preview=False, recovery_dir=tmp / "rec")
    win.resize(1500, 900)
    win.show()
    win.analyze_audio(ROOT / "tests/data/dialog-warning.flac", "atomize")
    wait(win)
    win.grid_bar.pitch_combo.setCurrentText("semitone")
    win.grid_bar.beats_check.setChecked(True)
    win.show_analysis("residual")
    wait(win)
    save(win, "app-residual.png")
    win.show_analysis("original")
    wait(win)
    save(win, "app-original.png")

    # 2. The fit settings dialog for a 44.1 kHz, 12 s recording.
    dlg = FitSettingsDialog(44100, 12.0, settings=settings)
    dlg.resize(460, 240)
    dlg.show()
    save(dlg, "app-fit-settings.png")

    # 3. The plugin browser and a VST3's parameters with names and units.
    from tests.support.dpf_plugin import build_test_gain_plugin, dpf_missing_reason

    if dpf_missing_reason() is None:
        plugin = build_test_gain_plugin(Path(os.environ.get(
            "ATOMSYNTH_PLUGIN_BUILD", "/tmp/atomsynth-test-plugins")))
        os.environ["VST3_PATH"] = str(plugin.parent)
        browser = PluginBrowser(None, settings)
        browser.resize(640, 360)
        browser.show()
        save(browser, "app-plugin-browser.png")
        win.effects.add_builtin("Compressor")
        win.effects.add_vst3(str(plugin))
        win.chain.inserts[-1].plugin.gain_db = -6.0
        win.effects._show_params(1)
        win.controls_dock.widget().setCurrentWidget(win.effects)
        save(win.controls_dock, "app-plugin-params.png")
    win.doc.undo_stack.setClean()
    win.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
