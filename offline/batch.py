"""Fitting a whole corpus: every audio file of a folder tree, in parallel, resumable.

Outputs mirror the input tree (``a/b/c.wav`` -> ``OUTDIR/a/b/c.atoms`` plus ``c.json`` with the
fit report and quality figures). A file whose ``.atoms`` output exists is skipped, and outputs are
written atomically, so a run killed at any point resumes where it stopped. Files are fitted in
worker processes on one machine (:class:`concurrent.futures.ProcessPoolExecutor`, one torch
thread each), or as tasks on a Ray cluster (``ray_address``; the optional ``cluster`` extra).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from atomsynth.rt.atomic import write_text_atomic
from atomsynth.rt.audio_io import is_audio_path
from atomsynth.rt.errors import AtomsynthError, ParameterError


@dataclass(frozen=True)
class FitJob:
    """One file to fit: input path, output atom file, report file."""

    input: Path
    output: Path
    report: Path


def find_jobs(root: str | os.PathLike, out_dir: str | os.PathLike) -> list[FitJob]:
    """Every audio file under ``root`` (recursively, sorted) and where its outputs go."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"{root}: not a folder")
    out_dir = Path(out_dir)
    jobs = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and is_audio_path(path):
            rel = path.relative_to(root).with_suffix("")
            jobs.append(FitJob(path, out_dir / rel.with_suffix(".atoms"),
                            out_dir / rel.with_suffix(".json")))
    return jobs


def _write_json_atomic(path: Path, doc: dict) -> None:
    write_text_atomic(path, json.dumps(doc, indent=2))


def run_job(job: FitJob, config, threads: int = 1) -> dict:
    """Fit one file (in a worker): write its report first, then its atom file (the marker)."""
    import torch

    from atomsynth.offline.fit_file import fit_file

    torch.set_num_threads(max(1, threads))
    # A name of its own per attempt: a task Ray reruns, or one still running for a killed
    # driver, may write the same file at the same time; each rename is atomic, the last wins.
    # (Hidden, and not ending in .atoms: never taken for a result by a glob.)
    tmp_atoms = job.output.with_name(f".{job.output.name}.{os.getpid()}.{time.time_ns()}"
                                     ".partial")
    try:
        result = fit_file(job.input, tmp_atoms, config)
        result["output"] = str(job.output)
        _write_json_atomic(job.report, result)
        os.replace(tmp_atoms, job.output)
    except AtomsynthError as exc:
        try:
            tmp_atoms.unlink()
        except OSError:
            pass
        return {"input": str(job.input), "error": str(exc)}
    return result


def fit_corpus(root, out_dir, config, *, jobs: int | None = None, ray_address: str | None = None,
               progress: Callable[[int, int, dict], None] | None = None) -> list[dict]:
    """Fit every audio file under ``root`` into ``out_dir``; returns one result per fitted file.

    Parameters
    ----------
    jobs : int, optional
        Worker processes on this machine (default: CPU count); ignored with ``ray_address``.
    ray_address : str, optional
        Address of a Ray cluster (``"auto"``, ``"ray://host:10001"``, ...); needs ``ray``.
    progress : callable(done, total, result), optional
    """
    todo = [j for j in find_jobs(root, out_dir) if not j.output.exists()]
    total = len(todo)
    results: list[dict] = []
    if not todo:
        return results
    if ray_address is not None:
        return _fit_on_ray(todo, config, ray_address, progress)
    workers = int(jobs or os.cpu_count() or 1)
    if not 1 <= workers <= 1024:
        raise ParameterError(f"jobs = {jobs!r} is out of range; allowed [1, 1024]")
    if workers == 1:
        for i, job in enumerate(todo):
            results.append(run_job(job, config, threads=os.cpu_count() or 1))
            if progress is not None:
                progress(i + 1, total, results[-1])
        return results
    # Spawned, not forked: a fork of a process whose torch thread pool is running can hang.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=ctx) as pool:
        futures = [pool.submit(run_job, job, config, 1) for job in todo]
        for i, fut in enumerate(as_completed(futures)):
            results.append(fut.result())
            if progress is not None:
                progress(i + 1, total, results[-1])
    return results


def _import_ray():
    try:
        import ray
    except ImportError:
        raise AtomsynthError("--ray needs the ray package: pip install 'atomsynth[cluster]' "
                             "(or pip install ray)") from None
    return ray


RAY_TASK_RETRIES = 3
"""Times Ray reruns a task whose worker process or node died (application errors are not
retried: they are reported)."""


def _fit_on_ray(todo: list[FitJob], config, address: str, progress) -> list[dict]:
    """Fit ``todo`` as Ray tasks, one CPU each; workers read inputs and write outputs at the
    same paths as this driver (a shared filesystem on a multi-node cluster).

    A task lost with its worker or node is rerun by Ray up to :data:`RAY_TASK_RETRIES` times;
    one that still fails becomes a result with ``"error"`` (its file stays unfitted, so the
    next run of the same command fits it).
    """
    ray = _import_ray()
    started_here = not ray.is_initialized()
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise AtomsynthError(f"cannot reach the Ray cluster at {address!r}: {exc}") from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=RAY_TASK_RETRIES)(run_job)
        pending = {remote.remote(job, config, 1): job for job in todo}
        results = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    results.append(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    results.append({"input": str(job.input),
                                    "error": f"Ray task failed: {type(exc).__name__}: {first}"})
                if progress is not None:
                    progress(len(results), len(todo), results[-1])
        return results
    finally:
        if started_here:
            ray.shutdown()


__all__ = ["FitJob", "find_jobs", "fit_corpus", "run_job"]
