"""``fit-batch --ray`` against a real Ray cluster: a head node and two one-CPU worker nodes
started with ``ray start`` (``tests/support/ray_cluster.py``), all inside a private network
namespace that the test creates (``unshare --net``; ``tests/support/ray_netns_run.py``), whose
only interface is ``lo``: every Ray process and the driver talk over loopback (Ray would otherwise
replace ``127.0.0.1`` with the machine's own network address). One worker node is killed (SIGKILL
of its raylet and its workers) once the first file is fitted, and the run itself once two are;
the same command run again fits exactly the rest, and every output equals a local fit's (one
torch thread, as in a Ray task or a worker process of ``fit-batch --jobs 2``), bit for bit.

Fits are tiny (0.10 to 0.16 s at 16 kHz, one optimizer step), so most of the time is Ray
starting and each worker importing torch: one to two minutes on two shared cores. Skipped where
a network namespace cannot be created (``unshare --net`` needs root).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.atomfile import load  # noqa: E402
from atomsynth.rt.audio_io import write_audio  # noqa: E402
from atomsynth.rt.reference import render  # noqa: E402
from tests.support.ray_cluster import REPO, RayCluster, cluster_temp_dir  # noqa: E402
from tests.support.ray_netns_run import FIT_ARGS, N_FILES, SR, TEMP_ENV, results  # noqa: E402

RUN_TIMEOUT_S = 900


def _netns_unavailable() -> str | None:
    """Why a private network namespace cannot be made here, or None."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run(["unshare", "--net", "--", "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return ("cannot create a network namespace (`unshare --net` needs root or "
                f"CAP_SYS_ADMIN): {probe.stderr.strip()}")
    return None


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory):
    """The whole scenario, run once in a new network namespace: its report and folders."""
    reason = _netns_unavailable()
    if reason:
        pytest.skip(f"the Ray test needs a private network namespace: {reason}")
    root = tmp_path_factory.mktemp("ray")
    src, out = root / "corpus", root / "ray"
    make_corpus(src)
    temp = cluster_temp_dir()
    try:
        run = subprocess.run(["unshare", "--net", "--", sys.executable, "-m",
                              "tests.support.ray_netns_run", str(src), str(out)],
                             env={**os.environ, TEMP_ENV: str(temp)}, cwd=REPO,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    finally:
        # The runner tears its cluster down; should it have died or timed out, do it here, by
        # the cluster's folder on the processes' command lines (never `ray stop --force`).
        leftover = RayCluster(temp, 0, {})
        left = leftover.pids()
        leftover.stop()
    assert not left, f"Ray processes left behind: {sorted(left)}"
    assert run.returncode == 0, f"the Ray run failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]), src, out


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


def outputs(out) -> dict[str, AtomSet]:
    return {str(p.relative_to(out)): load(p) for p in results(out)}


@pytest.mark.slow
def test_cluster_runs_in_its_own_network_namespace_on_loopback(ray_run):
    """Only ``lo`` in the namespace; every node's address and every TCP socket is loopback."""
    report, _, _ = ray_run
    assert report["interfaces"] == ["lo"]
    assert report["node_addresses"] == ["127.0.0.1"] * 3  # the head and two worker nodes
    assert report["gcs_address"].startswith("127.0.0.1:")
    assert report["socket_addresses"], "no TCP socket seen in the namespace"
    for address in report["socket_addresses"]:
        assert ipaddress.ip_address(address).is_loopback, address
    print(f"interfaces {report['interfaces']}, node addresses {report['node_addresses']}, "
          f"TCP socket addresses {report['socket_addresses']}")


@pytest.mark.slow
def test_cluster_helper_finds_its_worker_processes(ray_run):
    """The helper's teardown is by process id: it must see the head and both raylets."""
    helper = ray_run[0]["helper"]
    assert helper["pids"] >= 3
    assert helper["raylets_found"] == [True, True]
    assert not helper["own_pid_found"]
    assert ray_run[0]["left_behind"] == 0, "Ray processes left behind"


@pytest.mark.slow
def test_fit_batch_on_ray_survives_a_killed_worker_and_resumes(tmp_path, ray_run):
    report, src, out_ray = ray_run
    assert report["tasks_running_after_kill"] == 0, "the killed run's tasks are still running"
    fitted = report["fitted_before_resume"]
    assert 2 <= fitted <= N_FILES

    # Resuming: the same command fitted only what was missing, on the one worker that was left.
    assert report["resume_returncode"] == 0, report["resume_stdout"] + report["resume_stderr"]
    assert f"{fitted} already fitted, {N_FILES - fitted} to fit" in report["resume_stdout"]
    assert report["fitted_after_resume"] == N_FILES
    assert len(results(out_ray)) == N_FILES

    # The same fits here, file by file as a local run does them, with one torch thread each
    # like the Ray tasks (and the worker processes of fit-batch --jobs 2 or more).
    out_local = tmp_path / "local"
    local_fit(src, out_local)
    ray_sets, local_sets = outputs(out_ray), outputs(out_local)
    assert sorted(ray_sets) == sorted(local_sets) and len(ray_sets) == N_FILES
    for name, atoms in ray_sets.items():
        assert atoms == local_sets[name], name
        assert len(atoms.resonant) >= 1
    print(f"Ray run killed after {fitted} of {N_FILES} files; resumed: {N_FILES - fitted}")
