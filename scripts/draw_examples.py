"""Draw docs/examples.png: the bundled examples' atoms over their spectrograms.

    python scripts/draw_examples.py [--out docs/examples.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from atomsynth.rt.atomfile import load  # noqa: E402
from atomsynth.rt.presets import data_dir  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402

NAMES = ("marimba_phrase", "bells", "drum_pattern", "bowed_texture")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/examples.png"))
    args = parser.parse_args(argv)
    fig, axes = plt.subplots(2, 2, figsize=(12, 6.5), dpi=100)
    for ax, name in zip(axes.ravel(), NAMES):
        s = load(data_dir() / "examples" / f"{name}.atoms")
        y = render(s).mean(axis=0)
        sr, n_fft, hop = s.sample_rate, 2048, 512
        win = np.hanning(n_fft)
        frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop] * win
        spec = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)).T + 1e-9)
        f = np.fft.rfftfreq(n_fft, 1 / sr)
        t = np.arange(spec.shape[1]) * hop / sr
        ax.pcolormesh(t, f[1:], spec[1:], cmap="magma", vmin=spec.max() - 80, vmax=spec.max(),
                      shading="auto")
        r = s.resonant
        ax.scatter(r.onset_s, r.f0_hz, s=8 + 3 * (r.gain_db - r.gain_db.min()),
                   c=r.group, cmap="tab10", vmin=0, vmax=9, edgecolors="white", linewidths=0.5)
        ax.set(yscale="log", ylim=(30, 16000), title=f"{name}  ({len(r)} atoms)",
               xlabel="time (s)", ylabel="Hz")
    fig.suptitle("bundled examples: atoms (onset, f0; size = gain, colour = group) over the "
                 "spectrogram of their render")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
