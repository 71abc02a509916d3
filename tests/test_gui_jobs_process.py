"""Heavy work off the app's process (issue 11 item 5): a fit started from the window runs in a
worker process of the 'spawn' context at lower priority, reports progress through a queue,
is cancelled by terminating it (gone within 1 s), and its result (an .atoms file) opens.

Real parts: the window offscreen (pytest-qt), multiprocessing, PyTorch's fit in the worker.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("torch")

from PySide6.QtCore import QSettings  # noqa: E402

from atomsynth.gui.app import MainWindow  # noqa: E402
from atomsynth.gui.jobs import ProcessJob  # noqa: E402
from atomsynth.rt.atoms import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402

SR = 16000
TRUE = ResonantAtoms(onset_s=[0.01, 0.12], f0_hz=[440.0, 660.0], t60_s=[0.4, 0.3],
                     n_modes=[4, 3], gain_db=[-6.0, -10.0], brightness=0.6, seed=[5, 6],
                     noise_hz=[800.0, 1000.0], noise_bw_hz=1500.0)
QUICK = {"atoms_per_second": 16, "iterations": 6, "segment_s": 0.125, "overlap_s": 0.05,
         "max_modes": 6, "sample_rate": SR, "seed": 3, "fft_sizes": (512, 256, 128)}


@pytest.fixture
def win(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(audio=False, settings=settings, preview=False,
                   recovery_dir=tmp_path / "rec",
                   atom_set=AtomSet(sample_rate=SR, channels=1))
    w.quick_first = False
    yield w
    w.doc.undo_stack.setClean()
    w.close()


def _recording(tmp_path: Path, seconds: float) -> Path:
    wav = tmp_path / "tone.wav"
    write_audio(wav, render(AtomSet(sample_rate=SR, channels=1, resonant=TRUE),
                            duration_s=seconds), SR)
    return wav


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_fit_runs_in_a_worker_process_and_cancels_within_1s(win, qtbot, tmp_path):
    wav = _recording(tmp_path, 2.0)
    # a long fit: 2 s, 400 steps per segment
    assert win.analyze_audio(wav, "fit", {**QUICK, "iterations": 400, "segment_s": 0.5})
    (job,) = win.jobs
    assert isinstance(job, ProcessJob)
    seen: list[float] = []
    job.progress.connect(seen.append)
    pid = job.pid
    assert pid is not None and pid != os.getpid()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=120000)  # torch's import, then steps
    assert _alive(pid)
    assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 10
    assert job.process.name == "atomsynth analyze"
    assert all(0.0 <= f <= 1.0 for f in seen)
    cancelled: list[bool] = []
    job.cancelled.connect(lambda: cancelled.append(True))
    t0 = time.monotonic()
    job.cancel()
    gone_s = time.monotonic() - t0
    print(f"\nworker pid {pid}: {len(seen)} progress reports, gone {1000 * gone_s:.0f} ms "
          "after cancel")
    assert not _alive(pid) and gone_s < 1.0
    assert cancelled and not win.jobs
    assert win.doc.atom_set.n_atoms == 0  # nothing opened
    assert not Path(job.args["out_path"]).parent.exists()  # its temporary folder removed


def test_fit_result_from_the_worker_opens(win, qtbot, tmp_path):
    wav = _recording(tmp_path, 0.25)
    assert win.analyze_audio(wav, "fit", dict(QUICK))
    (job,) = win.jobs
    out = Path(job.args["out_path"])
    seen: list[float] = []
    job.progress.connect(seen.append)
    qtbot.waitUntil(lambda: not win.jobs, timeout=180000)
    assert not [m for m in win.errors if "fit" in m], win.errors
    got = win.doc.atom_set
    assert got.n_atoms > 0 and win.original is not None and win.original.path == wav
    assert not out.exists() and not out.parent.exists()  # the result file was read and removed
    assert seen and max(seen) <= 1.0
    # the fit found the recording's two notes
    f0 = np.asarray(got.resonant.f0_hz)
    for want in (440.0, 660.0):
        assert np.min(np.abs(f0 / want - 1)) < 0.02, (want, f0)
