"""The Ray scenario of ``tests/test_fit_ray.py``, run inside a private network namespace.

    ATOMSYNTH_RAY_TEMP=DIR unshare --net -- python3 -m tests.support.ray_netns_run SRC OUT

(from the repository root, as root). Ray replaces ``127.0.0.1`` with the machine's own network
address, so on the machine itself its traffic would go to that address; in a new network
namespace the only interface is ``lo`` and every Ray process and the ``fit-batch`` driver talk
over loopback. This script brings ``lo`` up, starts a head node and two one-CPU worker nodes
(``ray_cluster.py``) in the empty folder ``DIR`` (a short path; given in the environment, not on
this script's command line, since every process whose command line holds it is the cluster's),
runs ``atomsynth fit-batch SRC -o OUT --ray``, kills one worker node once the first file is
fitted and the driver once two are, waits until the killed run's tasks have stopped, runs the
same command again, tears the cluster down by process id and prints one JSON object (the last
line of stdout) with what it saw; the test checks it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.ray_cluster import REPO, RayCluster, make_cluster

SR = 16000
N_FILES = 4
TEMP_ENV = "ATOMSYNTH_RAY_TEMP"  # the cluster's folder
FIT_ARGS = ["--iterations", "1", "--sample-rate", str(SR), "--quiet", "--atoms-per-second", "16"]


def results(out: Path) -> list[Path]:
    """The finished ``.atoms`` files under ``out`` (not hidden temporary ones)."""
    return sorted(p for p in out.rglob("*.atoms") if not p.name.startswith("."))


def _hex_address(text: str) -> str:
    """An address of ``/proc/net/tcp[6]`` (hex, 32-bit words in host byte order); an IPv4 address
    mapped into IPv6 (``::ffff:127.0.0.1``) as the IPv4 one."""
    raw = bytes.fromhex(text)
    ip = ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def socket_addresses() -> set[str]:
    """Local and remote addresses of this namespace's TCP sockets (wildcards left out)."""
    found = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, remote = line.split()[1:3]
            for address in (local, remote):
                ip = _hex_address(address.split(":")[0])
                if not ipaddress.ip_address(ip).is_unspecified:
                    found.add(ip)
    return found


def node_addresses(cluster: RayCluster) -> list[str]:
    """``NodeManagerAddress`` of every live node, as a driver connected to the cluster sees it."""
    import ray

    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_DISABLE_IMPORT_WARNING="1")
    ray.init(address=cluster.address, logging_level="error", log_to_driver=False)
    try:
        return sorted(n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"])
    finally:
        ray.shutdown()


def scenario(cluster: RayCluster, src: Path, out: Path, seen: set[str]) -> dict:
    cmd = [sys.executable, "-m", "atomsynth", "fit-batch", str(src), "-o", str(out), *FIT_ARGS,
           "--ray", cluster.address]
    first = subprocess.Popen(cmd, env=cluster.env, cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240

        def wait_for(n: int) -> None:
            while len(results(out)) < n:
                seen.update(socket_addresses())
                assert first.poll() is None, f"the Ray run ended early:\n{first.stdout.read()}"
                assert time.monotonic() < deadline, f"not {n} file(s) fitted on Ray in 240 s"
                time.sleep(0.1)

        wait_for(1)
        # One of the two worker nodes dies; its task is rerun on the other by Ray.
        cluster.kill_worker(cluster.worker_ports[1])
        wait_for(2)
        first.kill()  # then the run itself is killed, as if its machine had gone down
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # Ray stops the tasks of a dead driver within about a second; count once none runs.
    stop_by = time.monotonic() + 60
    while cluster.running("run_job") and time.monotonic() < stop_by:
        time.sleep(0.1)
    report = {"tasks_running_after_kill": len(cluster.running("run_job")),
              "fitted_before_resume": len(results(out))}

    # Resuming: the same command fits only what is missing, on the one worker that is left.
    second = subprocess.Popen(cmd, env=cluster.env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while second.poll() is None and time.monotonic() < deadline:
        seen.update(socket_addresses())
        time.sleep(0.2)
    if second.poll() is None:
        second.kill()
    stdout, stderr = second.communicate()
    report.update(resume_returncode=second.returncode, resume_stdout=stdout,
                  resume_stderr=stderr, fitted_after_resume=len(results(out)))
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    temp = Path(os.environ[TEMP_ENV])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    report: dict = {"interfaces": sorted(name for _, name in socket.if_nameindex())}
    seen: set[str] = set()
    cluster = make_cluster(workers=2, temp=temp)
    try:
        pids = cluster.pids()
        report["helper"] = {"pids": len(pids), "own_pid_found": os.getpid() in pids,
                            "raylets_found": [cluster.raylet_pid(p) in pids
                                              for p in cluster.worker_ports]}
        report["node_addresses"] = node_addresses(cluster)
        report["gcs_address"] = cluster.address
        seen.update(socket_addresses())
        report.update(scenario(cluster, args.src, args.out, seen))
    finally:
        cluster.stop()
    report["left_behind"] = len(cluster.pids())
    report["socket_addresses"] = sorted(seen)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
