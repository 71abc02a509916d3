"""The shared-memory SPSC ring: order, wrap-around, a full ring refusing, and two processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.server.protocol import attach_shared, create_shared
from atomsynth.rt.server.rings import Ring, ring_bytes

DT = np.dtype([("k", "<i8"), ("x", "<f8"), ("name", "S16")])
ROOT = Path(__file__).resolve().parents[1]


def test_ring_order_wraparound_and_full():
    buf = bytearray(ring_bytes(DT, 4))
    prod = Ring(buf, 0, DT, 4)
    cons = Ring(buf, 0, DT)  # attached, like the other process
    got = []
    for k in range(10):
        rec = np.zeros((), DT)
        rec["k"], rec["x"], rec["name"] = k, k * 0.5, f"r{k}".encode()
        assert prod.push(rec)
        if k % 3 == 2:
            while (r := cons.pop()) is not None:
                got.append((int(r["k"]), float(r["x"]), bytes(r["name"])))
    while (r := cons.pop()) is not None:
        got.append((int(r["k"]), float(r["x"]), bytes(r["name"])))
    assert got == [(k, k * 0.5, f"r{k}".encode()) for k in range(10)]
    for _ in range(4):
        assert prod.slot() is not None
        prod.publish()
    assert len(cons) == 4
    assert prod.slot() is None and not prod.push(np.zeros((), DT))  # full: refused
    assert len(cons) == 4


def test_attaching_with_another_record_size_is_refused():
    buf = bytearray(ring_bytes(DT, 4))
    Ring(buf, 0, DT, 4)
    with pytest.raises(AtomsynthError, match="record size"):
        Ring(buf, 0, np.dtype([("k", "<i4")]))


PRODUCER = """
import sys, numpy as np
from atomsynth.rt.server.protocol import attach_shared
from atomsynth.rt.server.rings import Ring
DT = np.dtype([("k", "<i8"), ("x", "<f8"), ("name", "S16")])
shm = attach_shared(sys.argv[1])
ring = Ring(shm.buf, 0, DT)
k = 0
while k < 20000:
    rec = ring.slot()
    if rec is None:
        continue
    rec["k"], rec["x"] = k, k * 0.25
    ring.publish()
    k += 1
del rec, ring
shm.close()
"""


def test_two_processes_pass_20000_records_through_64_slots_in_order():
    shm = create_shared(None, ring_bytes(DT, 64))
    try:
        cons = Ring(shm.buf, 0, DT, 64)
        proc = subprocess.Popen([sys.executable, "-c", PRODUCER, shm.name], cwd=ROOT)
        ks, xs = [], []
        deadline = time.monotonic() + 120
        while len(ks) < 20000 and time.monotonic() < deadline:
            r = cons.pop()
            if r is None:
                time.sleep(0)
                continue
            ks.append(int(r["k"]))
            xs.append(float(r["x"]))
        assert proc.wait(30) == 0
        assert ks == list(range(20000))
        assert xs == [k * 0.25 for k in range(20000)]
        cons.release()
    finally:
        shm.close()
        shm.unlink()


def test_attach_does_not_take_over_cleanup():
    """A segment another process created survives this process's attach and close."""
    shm = create_shared(None, 64)
    try:
        other = attach_shared(shm.name)
        other.close()
        again = attach_shared(shm.name)  # still there
        again.close()
    finally:
        shm.close()
        shm.unlink()
