"""Fit one audio file: read it, fit resonant atoms, write the atom file atomically, and measure
what the file holds against the recording (the quality figures of :func:`fit_quality`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from atomsynth.offline.fit import FitConfig, fit_audio, fit_quality
from atomsynth.rt.atomfile import file_bitrate, load, save
from atomsynth.rt.audio_io import read_audio
from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.progress import TextProgress
from atomsynth.rt.reference import render
from atomsynth.rt.resample import resample

MIN_FIT_S = 0.01
"""The shortest recording :func:`fit_file` takes, in seconds."""


def fit_file(input_path: str | os.PathLike, output_path: str | os.PathLike, config: FitConfig,
             *, compact: bool = True, progress: TextProgress | None = None) -> dict:
    """Fit ``input_path``, write ``output_path`` (made atomically; folders created) and return
    ``{"input", "output", "report" (FitReport as a dict), "quality"}``.

    The quality is measured on the decoded file (a compact file quantizes) against the
    recording, downmixed to two channels when it has more, at the atom set's sample rate;
    ``quality`` also holds ``atoms``, ``atoms_per_second`` and ``bitrate_bps``.
    """
    audio, sr = read_audio(input_path)
    if audio.shape[1] < MIN_FIT_S * sr:
        raise AtomsynthError(f"{input_path}: {audio.shape[1]} sample(s) ({audio.shape[1] / sr:.4g} "
                             f"s) is too short to fit; at least {MIN_FIT_S} s")
    atom_set, report = fit_audio(audio, sr, config, progress=progress)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    save(atom_set, output_path, compact=compact)
    atom_set = load(output_path)  # measure what the file holds (compact mode quantizes)
    decoded = render(atom_set, duration_s=atom_set.duration_s)
    ref = audio
    if ref.shape[0] > 2:
        ref = np.stack([ref[0::2].sum(axis=0), ref[1::2].sum(axis=0)]) / np.sqrt(ref.shape[0] / 2)
    if sr != atom_set.sample_rate:
        ref = resample(ref, sr, atom_set.sample_rate)
    quality = fit_quality(ref, decoded, atom_set.sample_rate)
    duration = atom_set.duration_s or 1.0
    quality["atoms"] = len(atom_set.resonant)
    quality["atoms_per_second"] = len(atom_set.resonant) / duration
    quality["bitrate_bps"] = file_bitrate(output_path, duration)
    return {"input": str(input_path), "output": str(output_path), "report": report.to_dict(),
            "quality": quality}


__all__ = ["MIN_FIT_S", "fit_file"]
