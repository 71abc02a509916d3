"""Draw docs/atom-model.png: how a resonant atom is made, and what an MDCT atom looks like.

    python scripts/draw_atom_model.py [--out docs/atom-model.png]

Every curve comes from the project's own renderer (rt/), so the picture is the model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from atomsynth.rt import ResonantAtoms  # noqa: E402
from atomsynth.rt.burst import burst, envelope  # noqa: E402
from atomsynth.rt.mdct import atom_waveform  # noqa: E402
from atomsynth.rt.modes import atom_modes  # noqa: E402
from atomsynth.rt.reference import resonant_atom_signal  # noqa: E402

SR = 48000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/atom-model.png"))
    args = parser.parse_args(argv)

    params = dict(f0_hz=330.0, t60_s=0.6, n_modes=10, inharmonicity=0.004, damping=1.0,
                  brightness=0.75, cutoff_hz=3000.0, attack_s=0.004, burst_shape=2.0,
                  noise_hz=1500.0, noise_bw_hz=1200.0, seed=4)
    atoms = ResonantAtoms(**params)
    b = burst(seed=4, attack_s=0.004, burst_shape=2.0, noise_hz=1500.0, noise_bw_hz=1200.0,
              sample_rate=SR)
    env = envelope(b.size, 0.004, 2.0, SR)
    y = resonant_atom_signal(atoms, 0, (), SR)
    bank = atom_modes(atoms, (), SR)
    act = bank.active[0]

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10})
    fig = plt.figure(figsize=(11, 6.4), dpi=110)
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1.1], hspace=0.45, wspace=0.28)

    ax = fig.add_subplot(gs[0, 0])
    t_b = np.arange(b.size) / SR * 1000
    ax.plot(t_b, b, lw=0.7, color="#4477aa", label="burst b(t)")
    ax.plot(t_b, env * np.abs(b).max(), color="#cc6677", lw=1.5,
            label="gamma envelope (peak at attack_s)")
    ax.set(title="1. excitation: band-limited noise burst", xlabel="time (ms)")
    ax.legend(loc="upper right", fontsize=7, frameon=False)

    ax = fig.add_subplot(gs[0, 1])
    f = bank.freq_hz[0, act]
    a = bank.amp[0, act]
    ax.vlines(f, 0, a, color="#228833", lw=2)
    spec_f = np.linspace(0, 6000, 600)
    noise_band = np.exp(-0.5 * ((spec_f - 1500) / 1200) ** 2)
    ax.plot(spec_f, noise_band, color="#4477aa", lw=1, ls="--", label="noise band")
    ax.set(title="2. resonance: modes f_m, gains a_m", xlabel="frequency (Hz)",
           xlim=(0, 6000))
    for fm, tm in zip(f[:4], bank.t60_s[0, act][:4]):
        ax.annotate(f"T60 {tm:.2f} s", (fm, 0.02), rotation=90, fontsize=6,
                    xytext=(3, 4), textcoords="offset points")
    ax.legend(loc="upper right", fontsize=7, frameon=False)

    ax = fig.add_subplot(gs[0, 2])
    t_y = np.arange(y.size) / SR
    ax.plot(t_y, y, lw=0.4, color="#332288")
    ax.set(title="3. atom = gain · [mix·b + (1−mix)·(b ⊛ h)]", xlabel="time (s)",
           xlim=(0, 0.9))

    ax = fig.add_subplot(gs[1, 0:2])
    n_fft, hop = 2048, 256
    win = np.hanning(n_fft)
    frames = [y[i : i + n_fft] * win for i in range(0, y.size - n_fft, hop)]
    spec = 20 * np.log10(np.abs(np.fft.rfft(np.array(frames), axis=1)).T + 1e-9)
    ax.imshow(spec, origin="lower", aspect="auto", cmap="magma",
              extent=(0, len(frames) * hop / SR, 0, SR / 2), vmin=spec.max() - 90,
              vmax=spec.max())
    ax.set(title="the atom's spectrogram: each mode rings and decays at its own rate",
           xlabel="time (s)", ylabel="frequency (Hz)", ylim=(0, 5000), xlim=(0, 0.9))

    ax = fig.add_subplot(gs[1, 2])
    hop_m = 256
    for k, c in [(3, "#117733"), (20, "#aa4499")]:
        w = atom_waveform(hop_m, k)
        ax.plot(np.arange(w.size) - hop_m, w + (0.15 if k == 3 else -0.15), color=c, lw=0.9,
                label=f"bin {k} ({(k + 0.5) * SR / (2 * hop_m):.0f} Hz)")
    ax.set(title="MDCT atoms (scale 512): sine-windowed cosines", xlabel="sample")
    ax.legend(loc="upper right", fontsize=7, frameon=False)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
