"""Make the golden files that tests/test_golden.py holds the reader and the renderers to.

    python tests/data/golden/make_golden.py formats     # the .atoms files of every version
    python tests/data/golden/make_golden.py examples    # fixtures of the bundled examples

Run from the repository root, and only when a change of what users get is intended (say so in
the commit): the point of these files is that they do not change.

``formats`` writes one small atom set (both families, a mode table, groups, a room name) as

* ``format-1.0-exact.atoms`` and ``format-1.0-compact.atoms``: by the version 1.0 writer, the
  ``rt/atomfile.py`` of commit ``1fc73b6^`` (the parent of the commit that introduced 1.1), read
  from this repository's git history and run against today's ``rt`` modules;
* ``format-1.1-exact.atoms`` and ``format-1.1-compact.atoms``: by today's writer
  (``atomsynth.rt.atomfile.to_bytes``, version 1.1);

and, for each, ``<name>.render.npy``: the file as loaded, rendered by the NumPy float64 reference
renderer (``atomsynth.rt.reference.render``), stored as float32, shape (channels, samples).

``examples`` writes ``example-<name>.npz`` for every ``presets/examples/*.atoms``: the reference
render (dry) of the whole piece summarized as the RMS of every 4096-sample block per channel
(``block_rms``, float64, shape (channels, blocks)) plus the raw samples (``samples``, float64,
shape (offsets, channels, 512)) at a few offsets (``offsets``, int64): the first onset, 1 s,
2.5 s and the start of the loudest block; ``peak`` is the render's largest absolute sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from atomsynth.rt.atomfile import load
from atomsynth.rt.atomfile import to_bytes as to_bytes_v11
from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.modes import ModeTable
from atomsynth.rt.reference import render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
V10_COMMIT = "1fc73b6^"
BLOCK = 4096
SNIPPET = 512
FORMAT_FILES = ("format-1.0-exact", "format-1.0-compact", "format-1.1-exact",
                "format-1.1-compact")


def golden_atom_set() -> AtomSet:
    """The set every format file holds: 0.25 s at 16 kHz, stereo, both families."""
    bar = ModeTable(name="golden_bar", ratios=np.array([1.0, 2.76, 5.40, 8.93]),
                    gains=np.array([1.0, 0.5, 0.25, 0.125]),
                    decays=np.array([1.0, 0.6, 0.35, 0.2]), description="a test bar",
                    source="tests/data/golden/make_golden.py", family="bar")
    resonant = ResonantAtoms(
        onset_s=[0.0, 0.013, 0.05, 0.081, 0.12, 0.19],
        gain_db=[-6.0, -12.5, -9.25, -18.0, -3.0, -24.0],
        pan=[0.0, -0.5, 0.75, -1.0, 0.25, 1.0],
        f0_hz=[220.0, 447.3, 1000.0, 97.5, 660.0, 3100.0],
        t60_s=[0.4, 1.3, 0.08, 2.5, 0.25, 0.05],
        damping=[0.5, 0.0, 1.25, -0.5, 0.5, 2.0],
        inharmonicity=[0.0, 0.001, 0.0, 0.02, 0.0, 0.0],
        brightness=[0.7, 0.9, 0.5, 0.3, 1.0, 0.6],
        cutoff_hz=[8000.0, 5000.0, 2500.0, 7000.0, 6000.0, 7900.0],
        n_modes=[16, 8, 4, 32, 4, 3],
        noise_hz=[2000.0, 1200.0, 4000.0, 300.0, 900.0, 6000.0],
        noise_bw_hz=[2000.0, 800.0, 1500.0, 200.0, 1000.0, 3000.0],
        attack_s=[0.002, 0.0005, 0.004, 0.01, 0.001, 0.0003],
        burst_shape=[2.0, 1.0, 4.0, 0.75, 8.0, 2.5],
        mix=[0.0, 0.1, 0.0, 0.0, 0.3, 0.05],
        seed=[0, 1, 2, 77, 4_000_000_000, 12345],
        preset=[-1, -1, -1, -1, 0, 0],
        group=[0, 0, 1, 1, 0, 1],
        room=[-1, -1, -1, 0, -1, -1],
        wet=[0.0, 0.0, 0.0, 0.25, 0.0, 0.0],
    )
    mdct = MdctAtoms(
        scale=[256, 256, 256, 512, 512, 512, 256, 512, 256, 512],
        frame=[1, 3, 10, 2, 5, 7, 20, 12, 28, 14],
        bin=[5, 17, 60, 9, 33, 120, 2, 200, 90, 40],
        channel=[0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
        value=[0.8, -0.45, 0.2, -0.9, 0.05, 0.33, -0.12, 0.6, -0.02, 0.01],
        group=[1, 1, 1, 0, 0, 0, 1, 0, 1, 0],
    )
    return AtomSet(sample_rate=16000, channels=2, resonant=resonant, mdct=mdct, duration_s=0.25,
                   mode_tables=(bar,), group_names=("struck", "texture"), room_names=("hall",),
                   provenance={"tool": "tests/data/golden/make_golden.py"})


def _writer_v10():
    """The version 1.0 ``rt/atomfile.py``, loaded from git history as a module."""
    source = subprocess.run(["git", "show", f"{V10_COMMIT}:rt/atomfile.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "atomfile_v10.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("atomfile_v10", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    assert module.VERSION == (1, 0), module.VERSION
    return module


def make_formats() -> None:
    """Write the four format files and their render fixtures."""
    atom_set = golden_atom_set()
    v10 = _writer_v10()
    blobs = {
        "format-1.0-exact": v10.to_bytes(atom_set, compact=False),
        "format-1.0-compact": v10.to_bytes(atom_set, compact=True),
        "format-1.1-exact": to_bytes_v11(atom_set, compact=False),
        "format-1.1-compact": to_bytes_v11(atom_set, compact=True),
    }
    for name, data in blobs.items():
        path = HERE / f"{name}.atoms"
        path.write_bytes(data)
        audio = render(load(path))
        np.save(HERE / f"{name}.render.npy", audio.astype(np.float32), allow_pickle=False)
        print(f"wrote {path.name} ({len(data)} bytes, version {data[8]}.{data[10]}) and its "
              f"render {audio.shape}")


def example_summary(audio: np.ndarray, sample_rate: int, first_onset: int
                    ) -> dict[str, np.ndarray]:
    """Block RMS, snippets and peak of one render, shape (channels, samples)."""
    n = audio.shape[1]
    blocks = -(-n // BLOCK)
    padded = np.zeros((audio.shape[0], blocks * BLOCK))
    padded[:, :n] = audio
    block_rms = np.sqrt(np.mean(padded.reshape(audio.shape[0], blocks, BLOCK) ** 2, axis=2))
    loudest = int(np.argmax(block_rms.sum(axis=0))) * BLOCK
    offsets = np.array([first_onset, sample_rate, int(2.5 * sample_rate), loudest], np.int64)
    offsets = np.clip(offsets, 0, n - SNIPPET)
    samples = np.stack([audio[:, o:o + SNIPPET] for o in offsets])
    return {"block_rms": block_rms, "offsets": offsets, "samples": samples,
            "peak": np.array(np.abs(audio).max())}


def first_onset_sample(atom_set: AtomSet) -> int:
    """The first sample at which an example's first resonant atom starts."""
    return int(round(float(atom_set.resonant.onset_s.min()) * atom_set.sample_rate))


def make_examples() -> None:
    """Write the fixture of every bundled example."""
    for path in sorted((ROOT / "presets" / "examples").glob("*.atoms")):
        atom_set = load(path)
        audio = render(atom_set)
        summary = example_summary(audio, atom_set.sample_rate, first_onset_sample(atom_set))
        out = HERE / f"example-{path.stem}.npz"
        np.savez(out, **summary)
        print(f"wrote {out.name}: {audio.shape}, peak {float(summary['peak']):.6f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("formats", "examples"))
    args = parser.parse_args(argv)
    {"formats": make_formats, "examples": make_examples}[args.what]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
