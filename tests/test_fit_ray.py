"""``fit-batch --ray`` against a real Ray cluster on this machine: a head node and two one-CPU
worker nodes started with ``ray start`` (``tests/support/ray_cluster.py``). One worker node is
killed (SIGKILL of its raylet and its workers) once the first file is fitted, and the run itself
once two are; the same command run again fits exactly the rest, and every output equals a
local fit's (one torch thread, as
in a Ray task or a worker process of ``fit-batch --jobs 2``), bit for bit.

Fits are tiny (0.10 to 0.16 s at 16 kHz, one optimizer step), so most of the time is Ray
starting and each worker importing torch: one to two minutes on two shared cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.atomfile import load  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402
from tests.support.ray_cluster import REPO, make_cluster  # noqa: E402

SR = 16000
N_FILES = 4
FIT_ARGS = ["--iterations", "1", "--sample-rate", str(SR), "--quiet", "--atoms-per-second", "16"]


@pytest.fixture(scope="module")
def ray_cluster():
    cluster = make_cluster(workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()
    assert not cluster.pids(), "Ray processes left behind"


def make_corpus(root) -> None:
    for i in range(N_FILES):
        atoms = ResonantAtoms(onset_s=[0.01, 0.06], f0_hz=[300.0 + 50 * i, 520.0 + 30 * i],
                              t60_s=[0.3, 0.2], n_modes=[3, 2], gain_db=[-6.0, -9.0],
                              seed=[i, i + 100], noise_hz=900.0, noise_bw_hz=1500.0)
        audio = render(AtomSet(sample_rate=SR, channels=1, resonant=atoms),
                       duration_s=0.1 + 0.02 * i)
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        write_audio(sub / f"clip{i}.wav", audio, SR)


def fit_batch(src, out, env, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "atomsynth", "fit-batch", str(src), "-o", str(out), *FIT_ARGS,
           *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


def local_fit(src, out) -> None:
    import argparse

    import torch

    from atomsynth.commands import fit_batch as command
    from atomsynth.commands.fit import config_from_args
    from atomsynth.offline.batch import find_jobs, run_job

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    config = config_from_args(parser.parse_args([str(src), "-o", str(out), *FIT_ARGS]))
    threads = torch.get_num_threads()
    try:
        for job in find_jobs(src, out):
            assert "error" not in run_job(job, config, threads=1)
    finally:
        torch.set_num_threads(threads)


def results(out) -> list:
    """The finished ``.atoms`` files under ``out`` (not hidden temporary ones)."""
    return sorted(p for p in out.rglob("*.atoms") if not p.name.startswith("."))


def outputs(out) -> dict[str, AtomSet]:
    return {str(p.relative_to(out)): load(p) for p in results(out)}


def test_cluster_helper_finds_its_worker_processes(ray_cluster):
    """The helper's teardown is by process id: it must see the head and both raylets."""
    pids = ray_cluster.pids()
    assert len(pids) >= 3
    for port in ray_cluster.worker_ports:
        assert ray_cluster.raylet_pid(port) in pids
    assert os.getpid() not in pids


@pytest.mark.slow
def test_fit_batch_on_ray_survives_a_killed_worker_and_resumes(tmp_path, ray_cluster):
    src, out_ray, out_local = tmp_path / "corpus", tmp_path / "ray", tmp_path / "local"
    make_corpus(src)
    env = ray_cluster.env
    cmd = [sys.executable, "-m", "atomsynth", "fit-batch", str(src), "-o", str(out_ray),
           *FIT_ARGS, "--ray", ray_cluster.address]
    first = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240

        def wait_for(n: int) -> None:
            while len(results(out_ray)) < n:
                assert first.poll() is None, f"the Ray run ended early:\n{first.stdout.read()}"
                assert time.monotonic() < deadline, f"not {n} file(s) fitted on Ray in 240 s"
                time.sleep(0.1)

        wait_for(1)
        # One of the two worker nodes dies; its task is rerun on the other by Ray.
        ray_cluster.kill_worker(ray_cluster.worker_ports[1])
        wait_for(2)
        first.kill()  # then the run itself is killed, as if its machine had gone down
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # Ray stops the tasks of a dead driver within about a second; count once none runs.
    stop_by = time.monotonic() + 60
    while ray_cluster.running("run_job") and time.monotonic() < stop_by:
        time.sleep(0.1)
    assert not ray_cluster.running("run_job"), "the killed run's tasks are still running"
    fitted = len(results(out_ray))
    assert 2 <= fitted <= N_FILES

    # Resuming: the same command fits only what is missing, on the one worker that is left.
    second = fit_batch(src, out_ray, env, "--ray", ray_cluster.address)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{fitted} already fitted, {N_FILES - fitted} to fit" in second.stdout
    assert len(results(out_ray)) == N_FILES

    # The same fits here, file by file as a local run does them, with one torch thread each
    # like the Ray tasks (and the worker processes of fit-batch --jobs 2 or more).
    local_fit(src, out_local)
    ray_sets, local_sets = outputs(out_ray), outputs(out_local)
    assert sorted(ray_sets) == sorted(local_sets) and len(ray_sets) == N_FILES
    for name, atoms in ray_sets.items():
        assert atoms == local_sets[name], name
        assert len(atoms.resonant) >= 1
    print(f"Ray run killed after {fitted} of {N_FILES} files; resumed: {N_FILES - fitted}")
