"""Issue 16, leftovers: a save killed mid-write leaves a temporary file that the next save to
the same target removes (a live writer's file is kept); saved files take the user's umask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import load, save
from atomsynth.rt.atomic import write_bytes_atomic

WRITER = textwrap.dedent("""
    import sys, time
    from atomsynth.rt.atomic import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"x" * 100000)
        print(tmp, flush=True)
        time.sleep(600)
""")


def _start_writer(target):
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                         text=True, cwd=os.getcwd())
    tmp = p.stdout.readline().strip()
    assert tmp and os.path.exists(tmp)
    return p, tmp


def _temporaries(folder):
    return sorted(x for x in os.listdir(folder) if x.endswith(".tmp"))


def test_stale_temporary_of_a_killed_save_is_removed_by_the_next(tmp_path):
    target = tmp_path / "set.atoms"
    p, tmp = _start_writer(target)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert _temporaries(tmp_path) == [os.path.basename(tmp)]
    aset = AtomSet(resonant=ResonantAtoms(onset_s=[0.0], f0_hz=[220.0]))
    save(aset, target)
    assert _temporaries(tmp_path) == []
    assert load(target) == aset


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    target = tmp_path / "x.bin"
    p, tmp = _start_writer(target)
    try:
        write_bytes_atomic(target, b"mine")
        assert os.path.exists(tmp)
        assert target.read_bytes() == b"mine"
    finally:
        p.kill()
        p.wait()
    write_bytes_atomic(target, b"again")
    assert _temporaries(tmp_path) == []


def test_other_files_are_never_touched(tmp_path):
    keep = [".x.bin.abcdefgh.tmp.bak", ".y.bin.abcdefgh.tmp", "x.bin.tmp", ".x.bin.ABCDEFGH.tmp"]
    for name in keep:
        (tmp_path / name).write_bytes(b"1")
    write_bytes_atomic(tmp_path / "x.bin", b"2")
    assert sorted(os.listdir(tmp_path)) == sorted(keep + ["x.bin"])


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600),
                                       (0o002, 0o664)])
def test_saved_files_take_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        write_bytes_atomic(tmp_path / "f.bin", b"data")
        save(AtomSet(), tmp_path / "s.atoms")
    finally:
        os.umask(old)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == mode
    assert (tmp_path / "s.atoms").stat().st_mode & 0o777 == mode
