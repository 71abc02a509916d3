"""Edit-to-sound latency through the audio server, measured on the output (prints figures).

    python3 -m benchmarks.server_latency [--edits 20] [--block 256] [--ahead 4] [--period 256]

A dummy JACK server (``jackd -d dummy``) runs at 48 kHz; an ``Engine`` (a client of its own
``atomsynth serve`` process) plays a sustained tone and the server records its own output
through JACK (``ServerClient.start_capture``). For each edit, the client notes how many frames
the recording holds (``n0``), calls ``set_macro("master_gain_db", ...)`` and goes on; afterwards
the recording is divided by the offline render of the unedited tone, and the first frame after
``n0`` whose gain departs from the previous gain is where the edit was heard. Latency = that
frame minus ``n0``, in ms. ``n0`` is read at a period boundary, so each figure is at most one
JACK period (``--period`` frames) above the true delay. Printed next to it: one block plus the
output latency the stream reports (render-ahead ring + PortAudio's output latency).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.engine import Engine  # noqa: E402
from tests.support.jack_server import (  # noqa: E402
    find_jack_device,
    find_lag,
    start_jack_dummy,
)

SR = 48000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--ahead", type=int, default=4)
    ap.add_argument("--period", type=int, default=256)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores; load "
          f"{os.getloadavg()[0]:.2f}; command: python3 -m benchmarks.server_latency "
          f"--edits {args.edits} --block {args.block} --ahead {args.ahead} "
          f"--period {args.period}")
    seconds = 2.0 + 0.35 * args.edits + 2.0
    # a sustained tone, plus a short noisy strike at the start that makes the alignment of the
    # recording with the offline render unambiguous
    tone = AtomSet(sample_rate=SR, channels=2, duration_s=seconds, resonant=ResonantAtoms(
        onset_s=[0.0, 0.05], f0_hz=[441.0, 1234.5], t60_s=[120.0, 0.05], n_modes=[1, 16],
        gain_db=[-6.0, -6.0], attack_s=0.001, mix=[0.0, 0.5]))
    with start_jack_dummy(sample_rate=SR, period=args.period, realtime=True) as server:
        eng = Engine(tone, device=find_jack_device("output"), block_size=args.block,
                     ahead_blocks=args.ahead)
        before = set(server.ports())
        eng.start()
        ports = server.new_ports(before)
        before_rec = set(server.ports())
        rec = eng.client.start_capture(device=find_jack_device("input"), sample_rate=SR,
                                       channels=2, seconds=seconds + 5, block=args.period)
        rec_ports = [p for p in server.new_ports(before_rec) if ":in_" in p]
        for port in rec_ports:
            server.disconnect_all(port)
        for src, dst in zip(ports, rec_ports, strict=True):
            server.connect(src, dst)
        eng.play()
        time.sleep(1.5)
        marks = []
        rng = np.random.default_rng(1)
        for k in range(args.edits):
            time.sleep(0.3 + 0.05 * rng.random())
            n0 = int(rec.hdr[1]) // 2
            eng.set_macro("master_gain_db", -6.0 if k % 2 == 0 else 0.0)
            marks.append(n0)
        time.sleep(1.0)
        stats = eng.stats()
        rec.close()
        eng.close()
    ref = Engine(tone, output=False, block_size=args.block).render_offline(
        duration_s=seconds).T  # the unedited tone
    cap = rec.data.astype(np.float64)
    lag = find_lag(cap[: 2 * SR], ref[: SR // 2])
    assert np.abs(cap[lag : lag + SR // 2] - ref[: SR // 2]).max() < 1e-6, "not aligned"
    n = min(len(cap) - lag, len(ref))
    print(f"recording {len(cap)} frames, aligned at {lag}; {n} frames compared")
    c, r = cap[lag : lag + n, 0], ref[:n, 0]
    good = np.abs(r) > 0.2 * np.abs(r[SR:]).max()  # the tone's peaks (after the strike)
    ratio = np.full(n, np.nan)
    ratio[good] = c[good] / r[good]
    lat_ms = []
    for k, n0 in enumerate(marks):
        start = n0 - lag
        prev = 1.0 if k % 2 == 0 else 10 ** (-6 / 20)
        seg = ratio[start : start + SR // 4]
        idx = np.flatnonzero(np.isfinite(seg) & (np.abs(seg - prev) > 1e-3 * prev))
        if idx.size:
            lat_ms.append(1000.0 * idx[0] / SR)
        else:
            print(f"edit {k} at frame {n0}: no change found within 250 ms", flush=True)
    lat = np.array(lat_ms)
    bound = 1000.0 * (args.block / SR + stats["latency_s"])
    print(f"edits heard: {lat.size} of {len(marks)}; ring misses {stats['ring_misses']}, "
          f"render thread {stats['render_priority']}")
    if lat.size:
        print(f"edit-to-sound latency (ms): min {lat.min():.1f}  median {np.median(lat):.1f}  "
              f"max {lat.max():.1f}  (each <= true + {1000 * args.period / SR:.1f} ms)")
    print(f"one block + reported output latency: {bound:.1f} ms (block {args.block} = "
          f"{1000 * args.block / SR:.1f} ms; ring {args.ahead} blocks + PortAudio "
          f"{1000 * (stats['latency_s'] - args.ahead * args.block / SR):.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
