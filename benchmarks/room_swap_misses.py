"""Ring misses when a playing set is swapped for one with new room names (no new stream).

Starts a dummy JACK server, plays the recovery test's set with room ``hall``, swaps in the same
atoms sent to rooms ``plate``, ``hall``, ``room`` after 1 s and counts the server's ring misses
one second later; ``--same`` swaps in a set with the same room (the baseline).

    python3 -m benchmarks.room_swap_misses [-n 3] [--same]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from atomsynth.rt.engine import Engine
from tests.support.jack_server import find_jack_device, start_jack_dummy
from tests.test_server_recovery import _set, _wait


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3, help="trials (3)")
    ap.add_argument("--same", action="store_true", help="swap in the same room names")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    with start_jack_dummy(sample_rate=48000, period=256):
        for trial in range(args.n):
            aset = _set().replace(room_names=("hall",))
            eng = Engine(aset, device=find_jack_device("output"), ahead_blocks=8)
            eng.start()
            try:
                eng.play()
                _wait(lambda eng=eng: eng.stats().get("position_s", 0) > 1.0, 10.0)
                before = eng.stats()["ring_misses"]
                res = aset.resonant
                if args.same:
                    new = aset.replace(resonant=res.with_columns(room=0))
                else:
                    rooms = np.where(np.arange(len(res)) % 2 == 0, 1, 0)
                    new = aset.replace(resonant=res.with_columns(room=rooms),
                                       room_names=("plate", "hall", "room"))
                eng.set_atom_set(new)
                time.sleep(1.0)
                after = eng.stats()["ring_misses"]
            finally:
                eng.close()
            print(f"trial {trial}: ring misses {before} before the swap, {after} one second "
                  f"after (load {os.getloadavg()[0]:.2f})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
