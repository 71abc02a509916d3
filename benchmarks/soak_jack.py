"""Soak: run the JACK playback test N times in a row and print the pass count.

    python3 -m benchmarks.soak_jack [-n 20] [--test NODEID]

Each run is a fresh pytest process running
``tests/test_engine_jack.py::test_plays_20s_without_underflow_and_matches_offline``: a 20 s,
2,000-atom set plays through the audio server into a dummy JACK server while the client process
does GUI-like Python work and full garbage collections; it passes only with zero ring misses
and a capture equal to the offline render. Prints the machine, the load before and after each
run, and the count.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/test_engine_jack.py::test_plays_20s_without_underflow_and_matches_offline"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="runs (20)")
    ap.add_argument("--test", default=TEST, help="pytest node id")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; test: {args.test}")
    print(f"command: python3 -m benchmarks.soak_jack -n {args.n}")
    passed = 0
    for k in range(args.n):
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", args.test, "-q", "-s", "-p",
                               "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        ok = proc.returncode == 0
        passed += ok
        misses = "?"
        for line in proc.stdout.splitlines():
            if "'ring_misses':" in line:
                misses = line.split("'ring_misses':")[1].split(",")[0].strip()
        print(f"run {k + 1:2d}/{args.n}: {'pass' if ok else 'FAIL'}  ring misses {misses}  "
              f"{time.monotonic() - t0:5.1f} s  load {load0:.2f} -> {os.getloadavg()[0]:.2f}",
              flush=True)
        if not ok:
            tail = "\n".join(proc.stdout.splitlines()[-15:])
            print("    " + tail.replace("\n", "\n    "))
    print(f"passed {passed} of {args.n}")
    return 0 if passed == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
