"""Peak memory of long inputs (issue 16): a 30-minute stereo set rendered, a 30-minute stereo
WAV atomized, each in a child process whose peak RSS is read from ``getrusage``.

Each command runs under an address-space cap (``--cap-gb``, default 4) so that a path that does
not stream fails with MemoryError (one line, exit 1) instead of taking the shared machine down.

Run: ``python3 benchmarks/memory_long.py [--minutes 30] [--only render-stream]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_set(path: Path, minutes: float, groups: int = 1, per_second: float = 2.0) -> None:
    from atomsynth.rt import AtomSet, ResonantAtoms
    from atomsynth.rt.atomfile import save

    rng = np.random.default_rng(30)
    n = int(minutes * 60 * per_second)
    atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, minutes * 60 - 2, n)),
                          f0_hz=rng.uniform(80, 2000, n), t60_s=rng.uniform(0.2, 1.5, n),
                          gain_db=rng.uniform(-30, -10, n), pan=rng.uniform(-1, 1, n),
                          seed=np.arange(n), group=np.arange(n) % groups)
    save(AtomSet(sample_rate=48000, channels=2, resonant=atoms, duration_s=minutes * 60,
                 group_names=tuple(f"g{i}" for i in range(groups))), path)


def make_wav(path: Path, minutes: float) -> None:
    import soundfile as sf

    sr, block = 48000, 48000 * 10
    rng = np.random.default_rng(31)
    total = int(minutes * 60 * sr)
    with sf.SoundFile(str(path), "w", sr, 2, subtype="PCM_16") as f:
        for a in range(0, total, block):
            t = (a + np.arange(min(block, total - a))) / sr
            x = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
            f.write(np.stack([x, np.roll(x, 7)], axis=1).astype(np.float32))


def run_child(argv: list[str], cap_gb: float) -> dict:
    cap = int(cap_gb * (1 << 30))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "atomsynth", *argv], cwd=ROOT,
                             preexec_fn=limit, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)  # this child's own peak RSS
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    last = (stdout.strip().splitlines() or stderr.strip().splitlines() or [""])[-1]
    return {"rc": p.returncode, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "last_line": last[:200], "stderr": stderr.strip()[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--cap-gb", type=float, default=4.0)
    ap.add_argument("--only", default=None,
                    help="comma-separated cases: render-stream, render-default, "
                         "render-stems-stream, info-large, atomize-single-scale")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="memlong"))
    aset, wav = tmp / "long.atoms", tmp / "long.wav"
    cases = {
        "render-stream": (lambda: make_set(aset, args.minutes),
                          ["render", str(aset), "-o", str(tmp / "r1.wav"), "--stream",
                           "--quiet"]),
        "render-default": (lambda: make_set(aset, args.minutes),
                             ["render", str(aset), "-o", str(tmp / "r2.wav"), "--quiet"]),
        "render-stems-stream": (lambda: make_set(aset, args.minutes, groups=4),
                                ["render", str(aset), "-o", str(tmp / "r3.wav"), "--stream",
                                 "--stems", str(tmp / "stems"), "--quiet"]),
        # 200 atoms a second (360,000 in 30 minutes): described from the header
        "info-large": (lambda: make_set(aset, args.minutes, groups=4, per_second=200.0),
                       ["info", str(aset)]),
        "atomize-single-scale": (lambda: make_wav(wav, args.minutes),
                                 ["atomize", str(wav), "-o", str(tmp / "a.atoms"),
                                  "--single-scale", "--atoms", "200000", "--quiet"]),
    }
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs; load "
          f"{os.getloadavg()}; command: {' '.join(sys.argv)}")
    for name, (prepare, argv) in cases.items():
        if args.only and name not in args.only.split(","):
            continue
        prepare()
        r = run_child(argv, args.cap_gb)
        ok = "under 1 GB" if r["rc"] == 0 and r["peak_rss_mb"] < 1024 else "NOT under 1 GB"
        print(f"{name:<22} {args.minutes:g} min stereo: rc {r['rc']}, peak RSS "
              f"{r['peak_rss_mb']:.0f} MB ({ok}), {r['wall_s']:.1f} s wall, "
              f"{r['cpu_s']:.2f} s CPU; "
              f"{r['last_line']}")
        if r["rc"] not in (0,):
            print(f"    stderr: {r['stderr']}")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
