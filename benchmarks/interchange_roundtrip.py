"""Round-trip errors of the interchange formats on the bundled examples (prints figures).

    python3 -m benchmarks.interchange_roundtrip

For each bundled example: sizes of the exports; exactness of CSV, JSON and SDIF with the
atomsynth extension; the largest relative error of the 1RES modes read back without it (frequency,
amplitude, decay rate: float32 rounding is 6e-8) and the render error of those atoms when the
excitation is the default one; MIDI's largest parameter errors. Takes a few seconds.
"""

from __future__ import annotations

import os
import platform

import numpy as np

from atomsynth.commands._common import load_atoms
from atomsynth.rt.interchange import midi, table
from atomsynth.rt.interchange.sdif_atoms import from_sdif, resonance_models, to_sdif
from atomsynth.rt.reference import render


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    for name in ("bells", "marimba_phrase", "drum_pattern"):
        _, s = load_atoms(name)
        csv_t, json_t = table.to_csv(s), table.to_json(s)
        sd, sd_tr, mid = to_sdif(s), to_sdif(s, tracks=True), midi.to_midi(s)
        print(f"{name}: {len(s.resonant)} atoms; bytes csv {len(csv_t)}, json {len(json_t)}, "
              f"sdif {len(sd)}, sdif+tracks {len(sd_tr)}, mid {len(mid)}")
        print(f"  exact: csv {table.from_csv(csv_t) == s}, json {table.from_json(json_t) == s},"
              f" sdif {from_sdif(sd_tr) == s}")
        std = from_sdif(to_sdif(s, atom_params=False))
        err = max(float(np.max(np.abs(b[:, :3] / a[np.argsort(a[:, 0])][:, :3] - 1)))
                  for a, b in zip(resonance_models(s), resonance_models(std)))
        # the same modes with the default excitation, so that only the modes differ
        plain = s.replace(resonant=s.resonant.with_columns(
            seed=0, attack_s=0.002, burst_shape=2.0, noise_hz=2000.0, noise_bw_hz=2000.0,
            mix=0.0, pan=0.0, room=-1, wet=0.0, group=0), channels=1)
        std_plain = from_sdif(to_sdif(plain, atom_params=False)).replace(channels=1)
        dur = min(plain.length_s, 10.0)
        x, y = render(plain, duration_s=dur, sample_rate=16000), render(
            std_plain, duration_s=dur, sample_rate=16000)
        print(f"  1RES only: mode rel. error {err:.2e}; render max error / peak "
              f"{np.max(np.abs(y - x)) / np.max(np.abs(x)):.2e} over {dur:.1f} s at 16 kHz")
        back = midi.from_midi(mid).resonant
        a = s.resonant
        ia, ib = np.lexsort((a.f0_hz, a.onset_s, a.group)), np.lexsort(
            (back.f0_hz, back.onset_s, back.group))
        cents = 1200 * np.log2(back.f0_hz[ib] / a.f0_hz[ia])
        print(f"  MIDI: onset {np.max(np.abs(back.onset_s[ib] - a.onset_s[ia])) * 1e3:.3f} ms,"
              f" pitch {np.max(np.abs(cents)):.4f} cent, gain "
              f"{np.max(np.abs(back.gain_db[ib] - np.clip(a.gain_db[ia], -63, 0))):.3f} dB, "
              f"t60 {np.max(np.abs(back.t60_s[ib] - a.t60_s[ia])) * 1e3:.3f} ms "
              f"(bounds {midi.quantization()})")


if __name__ == "__main__":
    main()
