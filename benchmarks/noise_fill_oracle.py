"""Oracle noise filling for the codec (docs/codec.md): how much would filling the holes help?

The ``encode`` atoms of four shared clips at 6 and 12 kb/s; every uncoded bin of the 2048-sample
MDCT is filled with Gaussian noise at its (frame, Bark band)'s true residual energy,
unquantized and free (an upper bound: a real noise filler must code those energies). Prints
mean mel distance and ViSQOL without and with the fill.

    python3 -m benchmarks.noise_fill_oracle      # about 2 minutes
"""

from __future__ import annotations

import numpy as np

from atomsynth.offline.encoder import encode
from atomsynth.offline.masking import bark
from atomsynth.offline.quality import mel_distance, visqol
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.mdct import imdct, mdct

FILES = ("violin", "clarinet", "harp", "audio-channel-rear-left")


def main() -> None:
    rng = np.random.default_rng(0)
    for kb in (6, 12):
        r: dict[str, list[float]] = {"mel": [], "mel_fill": [], "visqol": [], "visqol_fill": []}
        for name in FILES:
            x, sr = read_audio(f"tests/data/{name}.flac")
            a = encode(x, sr, kbps=kb).atom_set.mdct
            c = mdct(x, 1024)
            q = np.zeros_like(c)
            q[a.channel, a.frame, a.bin] = a.value
            band = np.floor(bark((np.arange(1024) + 0.5) * sr / 2048)).astype(int)
            res = np.where(q == 0, c, 0.0)
            fill = np.zeros_like(c)
            for b in np.unique(band):
                m = band == b
                hole = q[..., m] == 0
                energy = (res[..., m] ** 2).sum(-1, keepdims=True)
                count = np.maximum(hole.sum(-1, keepdims=True), 1)
                fill[..., m] = hole * rng.standard_normal(hole.shape) * np.sqrt(energy / count)
            y0 = imdct(q, x.shape[1])
            y1 = imdct(q + fill, x.shape[1])
            r["mel"].append(mel_distance(x, y0, sr))
            r["mel_fill"].append(mel_distance(x, y1, sr))
            r["visqol"].append(visqol(x, y0, sr))
            r["visqol_fill"].append(visqol(x, y1, sr))
        print(kb, "kb/s", {k: round(float(np.mean(v)), 3) for k, v in r.items()}, flush=True)


if __name__ == "__main__":
    main()
