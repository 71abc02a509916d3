"""A real Ray cluster for tests: a head node (no CPUs of its own) and worker nodes started with
``ray start``, torn down by process id.

Ray replaces ``127.0.0.1`` with the machine's own network address when the machine has one, so
tests run the cluster in a private network namespace whose only interface is ``lo``
(``tests/support/ray_netns_run.py``); there every address is a loopback one.

Every process of the cluster runs with the cluster's own temporary folder on its command line,
so teardown kills exactly those processes (and their children) and nothing else on the machine;
a broad ``ray stop --force`` would also stop Ray clusters of other users of the machine.
Dashboard and usage statistics are off.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out[int(entry)] = (ppid, cmd)
    return out


def _with_descendants(roots: set[int], procs: dict[int, tuple[int, str]]) -> set[int]:
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in procs.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found


def kill_tree(roots: set[int]) -> None:
    """SIGKILL ``roots`` and all their descendants."""
    for pid in _with_descendants(roots, _processes()):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class RayCluster:
    temp_dir: Path
    port: int
    env: dict[str, str]
    worker_ports: list[int] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _ray(self, *arg_lists: list[str], timeout: float = 180) -> None:
        """Run ``ray ARGS`` for every list at once; raise if any fails."""
        procs = [subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", *args],
                                  env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for args in arg_lists]
        errors = []
        for args, proc in zip(arg_lists, procs):
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            if proc.returncode != 0:
                errors.append(f"ray {' '.join(args[:2])} failed:\n{out}")
        if errors:
            raise RuntimeError("\n".join(errors))

    def start(self, workers: int) -> None:
        self._ray(["start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                   "--num-cpus", "0", "--include-dashboard=false", "--disable-usage-stats",
                   "--temp-dir", str(self.temp_dir)])
        for _ in range(workers):
            self.add_worker()

    def add_worker(self, attempts: int = 3) -> int:
        """Start a one-CPU worker node; returns its node manager port.

        ``ray start`` gives a node 30 s (fixed in Ray) to register with the head; on a loaded
        machine that can pass, so a node that did not register is killed and started again.
        """
        for attempt in range(attempts):
            port = free_port()
            try:
                self._ray(["start", "--address", self.address, "--node-ip-address", "127.0.0.1",
                           "--num-cpus", "1", "--node-manager-port", str(port),
                           "--disable-usage-stats"])
            except RuntimeError:
                try:
                    kill_tree({self.raylet_pid(port)})
                except RuntimeError:
                    pass
                if attempt == attempts - 1:
                    raise
                continue
            self.worker_ports.append(port)
            return port
        raise AssertionError("unreachable")

    def raylet_pid(self, node_manager_port: int) -> int:
        for pid, (_, cmd) in _processes().items():
            if "raylet" in cmd and f"--node_manager_port={node_manager_port}" in cmd:
                return pid
        raise RuntimeError(f"no raylet with node manager port {node_manager_port}")

    def kill_worker(self, node_manager_port: int) -> None:
        """Kill one worker node the hard way: its raylet and every process under it."""
        kill_tree({self.raylet_pid(node_manager_port)})

    def pids(self) -> set[int]:
        key = str(self.temp_dir)
        procs = _processes()
        return _with_descendants({p for p, (_, c) in procs.items() if key in c}, procs)

    def running(self, function: str) -> set[int]:
        """Worker processes of the cluster executing a task of ``function`` now."""
        procs = _processes()
        return {pid for pid in self.pids() if pid in procs
                and procs[pid][1].startswith(f"ray::{function}")}

    def stop(self) -> None:
        for _ in range(3):
            pids = self.pids()
            if not pids:
                break
            kill_tree(pids)
            time.sleep(0.5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def cluster_temp_dir() -> Path:
    """A new, short folder for a cluster: Ray's Unix sockets live under it (108-byte limit on
    socket paths), and its path marks every process of the cluster."""
    return Path(tempfile.mkdtemp(prefix="atomsynth-ray-", dir="/tmp"))


def make_cluster(workers: int, temp: Path | None = None) -> RayCluster:
    """Start a head node and ``workers`` one-CPU worker nodes on 127.0.0.1, in the (empty,
    existing) folder ``temp`` or a new one."""
    temp = cluster_temp_dir() if temp is None else temp
    env = dict(os.environ)
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_DISABLE_IMPORT_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(":"))
    for attempt in range(2):  # the head, too, may miss Ray's 30 s start-up limit under load
        cluster = RayCluster(temp, free_port(), env)
        try:
            cluster.start(workers)
            return cluster
        except RuntimeError:
            cluster.stop()
            if attempt == 1:
                raise
            temp.mkdir()
        except BaseException:
            cluster.stop()
            raise
    raise AssertionError("unreachable")
