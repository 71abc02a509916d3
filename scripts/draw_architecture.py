"""Draw docs/img/architecture.png: atomsynth's layers, processes, threads and data flow.

    python scripts/draw_architecture.py [--out docs/img/architecture.png]

The picture shows the target shape of the system: clients (the desktop app, ``atomsynth play``,
the Python API, OSC and MIDI) talk to the audio server process (``atomsynth serve``) through
shared-memory rings; the server owns the streaming synthesizer, the effects and the sound card.
Boxes drawn with a dashed outline are not built yet (see docs/architecture.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

# One colour per layer (the top-level folders).
COLOURS = {
    "offline": "#f4d6a0",
    "rt": "#b9d7f0",
    "gui": "#c9e8c0",
    "client": "#e3e3e3",
    "server": "#f2c4c4",
    "data": "#ffffff",
}


def box(ax, x, y, w, h, title, lines=(), *, colour="#ffffff", dashed=False, size=9):
    """A rounded box with a bold title and smaller lines under it (axes units)."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.015",
                                facecolor=colour, edgecolor="#333333", linewidth=1.2,
                                linestyle="--" if dashed else "-"))
    ax.text(x + w / 2, y + h - 0.018, title, ha="center", va="top", fontsize=size,
            fontweight="bold")
    for i, line in enumerate(lines):
        ax.text(x + w / 2, y + h - 0.05 - i * 0.028, line, ha="center", va="top",
                fontsize=size - 1.5)


def arrow(ax, start, end, label="", *, both=False, offset=(0.0, 0.0), colour="#333333"):
    """An arrow from ``start`` to ``end`` with an optional label at its middle."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="<|-|>" if both else "-|>",
                                 mutation_scale=11, linewidth=1.2, color=colour))
    if label:
        mx = (start[0] + end[0]) / 2 + offset[0]
        my = (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=7, style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})


def draw(out: Path) -> None:
    """Draw the picture and write it to ``out`` (PNG)."""
    fig = plt.figure(figsize=(12.5, 8.2), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")

    ax.text(0.5, 0.975, "atomsynth: layers, processes and data flow", ha="center", va="top",
            fontsize=13, fontweight="bold")

    # Clients row.
    ax.text(0.02, 0.915, "client processes", fontsize=9, style="italic", color="#555555")
    clients = [
        ("gui/  (PySide6, pyqtgraph)",
         ["atom view, inspector, macros,", "effects panel, transport"], COLOURS["gui"], False),
        ("atomsynth play", ["status line, underflows,", "peak CPU load"], COLOURS["client"], False),
        ("Python API", ["rt.Engine: a client", "of the server"], COLOURS["client"], False),
        ("OSC", ["UDP on loopback"], COLOURS["client"], False),
        ("MIDI", ["note-on, controllers"], COLOURS["client"], True),
    ]
    xs = [0.02, 0.23, 0.41, 0.59, 0.75]
    ws = [0.19, 0.16, 0.16, 0.14, 0.14]
    for (title, lines, colour, dashed), x, w in zip(clients, xs, ws):
        box(ax, x, 0.77, w, 0.13, title, lines, colour=colour, dashed=dashed)

    # Shared-memory rings.
    box(ax, 0.02, 0.64, 0.87, 0.07, "shared-memory rings (lock-free, bounded)",
        ["edits and transport in  ·  status, meters and levels out  ·  .atoms bytes"],
        colour="#fff6cc")
    for x, w in zip(xs, ws):
        arrow(ax, (x + w / 2, 0.77), (x + w / 2, 0.71), both=True)

    # The audio server process.
    ax.add_patch(FancyBboxPatch((0.02, 0.20), 0.87, 0.40,
                                boxstyle="round,pad=0.005,rounding_size=0.02",
                                facecolor="#fbeaea", edgecolor="#a33", linewidth=1.6))
    ax.text(0.035, 0.585, "audio server process: atomsynth serve  (the only place sound is made)",
            fontsize=10, fontweight="bold", color="#a33", va="top")
    arrow(ax, (0.165, 0.64), (0.165, 0.545), "edits")
    arrow(ax, (0.76, 0.545), (0.76, 0.64), "status")
    box(ax, 0.04, 0.39, 0.25, 0.155, "control thread",
        ["validates edits once (AtomsynthError)", "pushes them on a bounded queue",
         "restores state after a restart"], colour=COLOURS["rt"])
    box(ax, 0.32, 0.39, 0.30, 0.155, "render thread (runs ahead)",
        ["rt/synth.py: streaming synthesizer", "score clock · slot pool · steady bank",
         "MDCT stream · live macros (32-sample ticks)", "rt/effects.py: rooms, inserts, VST3"],
        colour=COLOURS["rt"])
    box(ax, 0.65, 0.39, 0.22, 0.155, "PortAudio callback",
        ["Numba cfunc (rt/pa_stream.py)", "no GIL, no lock, no allocation", "copies ready blocks"],
        colour=COLOURS["rt"])
    arrow(ax, (0.29, 0.47), (0.32, 0.47), "queue", offset=(0, 0.025))
    arrow(ax, (0.62, 0.47), (0.65, 0.47), "ring", offset=(0, 0.025))
    box(ax, 0.65, 0.23, 0.22, 0.11, "sound card / JACK", ["PortAudio stream"],
        colour=COLOURS["data"])
    arrow(ax, (0.76, 0.39), (0.76, 0.34))
    box(ax, 0.04, 0.23, 0.58, 0.11, "rt/  (NumPy + Numba; never torch or Qt)",
        ["atom model (rt/atoms.py, rt/params.py) · .atoms reader and writer · reference renderer",
         "bursts, modes, noise, MDCT · rooms · resampling · atomic writes"],
        colour=COLOURS["rt"])

    # Offline layer and files.
    box(ax, 0.09, 0.02, 0.33, 0.14, "offline/  (PyTorch, worker processes)",
        ["fit (differentiable renderer, analysis starts)", "atomize: MDCT, matching pursuit, codec",
         "atom language model (offline/lm)"], colour=COLOURS["offline"])
    box(ax, 0.50, 0.02, 0.17, 0.14, ".atoms file", ["exact or compact", "docs/atoms-format.md"],
        colour=COLOURS["data"])
    box(ax, 0.72, 0.02, 0.17, 0.14, "presets/", ["resonance tables,", "examples, rooms"],
        colour=COLOURS["data"])
    arrow(ax, (0.42, 0.09), (0.50, 0.09), "writes")
    arrow(ax, (0.585, 0.16), (0.585, 0.23), "read by rt")
    arrow(ax, (0.77, 0.16), (0.60, 0.23), "")
    arrow(ax, (0.0, 0.09), (0.09, 0.09), "audio in", offset=(0, 0.03))

    # Legend.
    ly = 0.90
    ax.text(0.905, ly + 0.02, "legend", fontsize=9, fontweight="bold")
    for i, (name, key) in enumerate([("rt/", "rt"), ("offline/", "offline"), ("gui/", "gui"),
                                     ("other client", "client")]):
        y = ly - 0.04 * (i + 1)
        ax.add_patch(FancyBboxPatch((0.905, y), 0.02, 0.025, boxstyle="square,pad=0",
                                    facecolor=COLOURS[key], edgecolor="#333333"))
        ax.text(0.93, y + 0.012, name, fontsize=8, va="center")
    y = ly - 0.04 * 5
    ax.add_patch(FancyBboxPatch((0.905, y), 0.02, 0.025, boxstyle="square,pad=0",
                                facecolor="white", edgecolor="#333333", linestyle="--"))
    ax.text(0.93, y + 0.012, "not built yet", fontsize=8, va="center")

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img/architecture.png"))
    args = parser.parse_args(argv)
    draw(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
