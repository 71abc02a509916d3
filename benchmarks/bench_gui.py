"""How the desktop app behaves with many atoms (default 10,000): prints figures.

    python3 -m benchmarks.bench_gui                 # offscreen, no audio device
    python3 -m benchmarks.bench_gui --jack          # plays through a throw-away JACK dummy server
    python3 -m benchmarks.bench_gui --atoms 2000 --seconds 5

Measures, with the real main window (Qt offscreen platform unless QT_QPA_PLATFORM is set):

* time to open the set (all plot items built once) and to apply an edit to 100 atoms
  (undo stack, engine swap, view redraw);
* view frame rate: timer-driven playhead/meter/status updates per second actually delivered,
  while the macro sliders move every 20 ms (each move sent to the engine), for ``--seconds``;
* with ``--jack``: the engine plays the set on ``jackd -d dummy`` meanwhile; underflows and the
  render thread's CPU load are read from ``Engine.stats()``.

Takes well under 3 minutes. Figures depend on the machine's load: say so when you quote them.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atoms", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--jack", action="store_true", help="play through a JACK dummy server")
    ap.add_argument("--idle", action="store_true",
                    help="do not move sliders (baseline for the underflow count)")
    args = ap.parse_args()

    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from atomsynth.gui.app import MainWindow
    from atomsynth.gui.demo import demo_atom_set
    from atomsynth.gui.document import Selection
    from atomsynth.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    atom_set = demo_atom_set(args.atoms, duration_s=60.0)
    settings = QSettings(os.devnull, QSettings.Format.IniFormat)

    jack_ctx = None
    device = None
    if args.jack:
        from tests.support.jack_server import (
            find_jack_device,
            jack_missing_reason,
            start_jack_dummy,
        )

        reason = jack_missing_reason()
        if reason:
            print(f"--jack: {reason}")
            return 2
        jack_ctx = start_jack_dummy(sample_rate=48000, period=256)
        jack_ctx.__enter__()
        device = find_jack_device()

    print(f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}, {args.atoms} atoms, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    win = MainWindow(atom_set=atom_set, audio=args.jack, device=device, settings=settings,
                     preview=False)
    win.resize(1500, 900)
    win.show()
    app.processEvents()
    t_open = time.perf_counter() - t0
    print(f"open window with the set (engine started, items built): {t_open:.2f} s")
    if win.bridge.problem:
        print(f"engine: {win.bridge.problem}")

    # One edit of 100 atoms: undo stack + engine swap + view redraw.
    win.doc.select(Selection.of(np.arange(100)))
    t0 = time.perf_counter()
    win.doc.set_params("resonant", np.arange(100), gain_db=-20.0)
    app.processEvents()
    print(f"edit 100 atoms (gain_db) incl. view redraw: {1000 * (time.perf_counter() - t0):.0f} ms")
    t0 = time.perf_counter()
    win.doc.undo_stack.undo()
    app.processEvents()
    print(f"undo: {1000 * (time.perf_counter() - t0):.0f} ms")

    playing = win.bridge.play() if args.jack else False
    slider = win.macros.sliders["pitch"]
    decay = win.macros.sliders["decay"]
    frames0 = win.view._fps_frames
    ticks = [0]
    orig_tick = win.tick

    def counting_tick():
        ticks[0] += 1
        orig_tick()

    win.timer.timeout.disconnect()
    win.timer.timeout.connect(counting_tick)
    stats0 = win.bridge.stats()
    t_start = time.perf_counter()
    last_move = 0.0
    moves = 0
    k = 0
    while time.perf_counter() - t_start < args.seconds:
        now = time.perf_counter()
        if not args.idle and now - last_move >= 0.02:
            k += 1
            slider.setValue(500 + int(200 * np.sin(k / 10)))
            decay.setValue(500 + int(150 * np.cos(k / 13)))
            moves += 2
            last_move = now
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t_start
    stats = win.bridge.stats()
    print(f"view updates (timer ticks) per second while sliders move: {ticks[0] / elapsed:.1f} "
          f"(target {1000 / win.timer.interval():.0f}); slider moves sent: {moves} "
          f"({moves / elapsed:.0f}/s)")
    _ = frames0
    if args.jack:
        print(f"playing: {playing}; underflows during the run: "
              f"{stats.get('underflows', 0) - stats0.get('underflows', 0)} "
              f"(engine ring misses {stats.get('ring_misses', 0)}, PortAudio "
              f"{stats.get('portaudio_underflows', 0)}); render CPU load mean "
              f"{100 * stats.get('cpu_load', 0):.0f} %, peak "
              f"{100 * stats.get('cpu_load_peak', 0):.0f} %; atoms playing "
              f"{stats.get('atoms_playing', 0)}; latency {1000 * stats.get('latency_s', 0):.1f} ms")
    win.doc.undo_stack.setClean()
    win.close()
    if jack_ctx is not None:
        jack_ctx.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
