"""From files to training windows: atomization, windowing, task masks, batches.

A *window* is ``window_frames`` consecutive time steps of one file holding at most
``max_atoms`` atoms, the loudest ones, with the time feature relative to the window start and
the atoms in the model's order (velocity: loudest first). A *mask* marks the features the model
must predict; the tasks (:data:`TASKS`) draw masks the way the inference commands use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomsynth.offline.atomizer import atomize
from atomsynth.offline.lm.tokenizer import TokenSet, _order_keys
from atomsynth.rt.atomfile import load
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.audio_io import AUDIO_SUFFIXES, is_audio_path, read_audio
from atomsynth.rt.errors import AtomsynthError, ParameterError

TASKS = ("random", "locate", "inpaint", "continue", "extend")


def load_atom_set(path: str | Path, *, scale: int = 1024, range_db: float = 96.0) -> AtomSet:
    """An ``.atoms`` file as it is, or an audio file atomized at ``scale`` (every atom within
    ``range_db`` of the loudest, :func:`atomsynth.offline.atomizer.atomize`)."""
    path = Path(path)
    if not path.is_file():
        raise AtomsynthError(f"{path}: no such file")
    if path.suffix.lower() == ".atoms":
        return load(path)
    if is_audio_path(path):
        audio, sr = read_audio(path)
        return atomize(audio, sr, scale=scale, range_db=range_db)
    raise AtomsynthError(f"{path}: unknown file type {path.suffix!r}; use .atoms or audio "
                         f"({', '.join(AUDIO_SUFFIXES)})")


def list_inputs(folder: str | Path) -> list[Path]:
    """The ``.atoms`` and audio files of a folder (or a single file), sorted."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise AtomsynthError(f"{folder}: no such file or folder")
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in (".atoms", *AUDIO_SUFFIXES) and p.is_file())
    if not files:
        raise AtomsynthError(f"{folder}: no .atoms or audio files in it")
    return files


def prune_per_frame(tokens: TokenSet, max_atoms: int) -> TokenSet:
    """Keep at most ``max_atoms`` loudest atoms per time step: no window of ``max_atoms``
    atoms needs more. Returns the atoms loudest first."""
    s = tokens.schema
    ti, vi = s.role_index("time"), s.role_index("velocity")
    v = tokens.values
    idx = np.lexsort((-v[:, vi], v[:, ti]))
    t_sorted = v[idx, ti]
    starts = np.searchsorted(t_sorted, t_sorted, side="left")
    rank = np.arange(len(idx)) - starts
    keep = idx[rank < max_atoms]
    kept = tokens.select(keep)
    return kept.select(_order_keys(kept.values, s, "velocity"))


@dataclass
class Window:
    """One window: ``values`` (n, F) with relative time, and its file start step."""

    values: np.ndarray
    start: int


def extract_window(tokens: TokenSet, start: int, *, window_frames: int, max_atoms: int,
                   order: str = "velocity") -> Window:
    """The loudest ``max_atoms`` atoms with time in ``[start, start + window_frames)``.

    ``tokens`` must be sorted loudest first (as :func:`prune_per_frame` returns them).
    """
    s = tokens.schema
    ti = s.role_index("time")
    t = tokens.values[:, ti]
    sel = np.flatnonzero((t >= start) & (t < start + window_frames))[:max_atoms]
    v = tokens.values[sel].copy()
    v[:, ti] -= start
    v = v[_order_keys(v, s, order)]
    return Window(v, int(start))


def n_steps(tokens: TokenSet) -> int:
    """Time steps the file spans (last atom's time + 1)."""
    ti = tokens.schema.role_index("time")
    return int(tokens.values[:, ti].max()) + 1 if len(tokens) else 0


def task_mask(values: np.ndarray, task: str, cards: tuple[int, ...], roles_idx: dict,
              rng: np.random.Generator) -> np.ndarray:
    """A boolean mask (n, F), True = to predict, drawn for ``task`` (one of :data:`TASKS`).

    random: each feature of each atom with a probability drawn in [0.15, 0.6], plus whole
    atoms with probability 0.1. locate: all but velocity, for a fraction in [0.2, 1] of the
    atoms. inpaint: every feature of the atoms in a span of 1 to W/2 steps. continue: every
    feature of the atoms at or after a step in [W/2, W). extend: every feature of the atoms
    at or above a frequency token drawn log-uniformly in [card/32, card/2].
    """
    n, n_feat = values.shape
    mask = np.zeros((n, n_feat), dtype=bool)
    if n == 0:
        return mask
    ti, fi, vi = roles_idx["time"], roles_idx["freq"], roles_idx["velocity"]
    w = cards[ti]
    if task == "random":
        mask = rng.random((n, n_feat)) < rng.uniform(0.15, 0.6)
        mask |= (rng.random(n) < 0.1)[:, None]
    elif task == "locate":
        rows = rng.random(n) < rng.uniform(0.2, 1.0)
        mask[rows] = True
        mask[:, vi] = False
    elif task == "inpaint":
        g = int(rng.integers(1, max(w // 2, 1) + 1))
        s0 = int(rng.integers(0, w - g + 1))
        mask[(values[:, ti] >= s0) & (values[:, ti] < s0 + g)] = True
    elif task == "continue":
        c = int(rng.integers(w // 2, w))
        mask[values[:, ti] >= c] = True
    elif task == "extend":
        card = cards[fi]
        c = int(np.exp(rng.uniform(np.log(max(card / 32, 1)), np.log(max(card / 2, 2)))))
        mask[values[:, fi] >= c] = True
    else:
        raise ParameterError(f"task = {task!r} is not one of {TASKS}")
    if not mask.any():
        mask[int(rng.integers(n)), int(rng.integers(n_feat))] = True
    return mask


def collate(windows: list[np.ndarray], masks: list[np.ndarray], length: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad to ``length``: values (B, L, F) int64, mask (B, L, F) bool, pad (B, L) bool."""
    b = len(windows)
    n_feat = windows[0].shape[1]
    values = np.zeros((b, length, n_feat), dtype=np.int64)
    mask = np.zeros((b, length, n_feat), dtype=bool)
    pad = np.ones((b, length), dtype=bool)
    for i, (v, m) in enumerate(zip(windows, masks, strict=True)):
        k = min(len(v), length)
        values[i, :k], mask[i, :k], pad[i, :k] = v[:k], m[:k], False
    return values, mask, pad


class WindowSampler:
    """Random training windows from a list of pruned file token sets (seeded).

    Each window starts at a uniformly drawn step of a file drawn in proportion to its length;
    velocities are shifted by a random gain in ``[-gain_shift, 0]`` levels (atoms pushed
    under level 0 are dropped) as augmentation.
    """

    def __init__(self, token_sets: list[TokenSet], *, window_frames: int, max_atoms: int,
                 order: str = "velocity", seed: int = 0, gain_shift: int = 8) -> None:
        self.sets = [t for t in token_sets if len(t)]
        if not self.sets:
            raise AtomsynthError("no atoms to train on")
        self.w, self.k, self.order, self.gain_shift = window_frames, max_atoms, order, gain_shift
        self.rng = np.random.default_rng(seed)
        lengths = np.array([max(n_steps(t) - window_frames // 2, 1) for t in self.sets], float)
        self.p = lengths / lengths.sum()
        s = self.sets[0].schema
        self.schema = s
        self.roles_idx = {r: s.role_index(r) for r in ("time", "freq", "velocity")}

    def window(self) -> np.ndarray:
        tokens = self.sets[int(self.rng.choice(len(self.sets), p=self.p))]
        hi = max(n_steps(tokens) - self.w // 2, 1)
        start = int(self.rng.integers(-self.w // 4, hi))
        v = extract_window(tokens, start, window_frames=self.w, max_atoms=self.k,
                           order=self.order).values
        if self.gain_shift:
            vi = self.roles_idx["velocity"]
            shift = int(self.rng.integers(0, self.gain_shift + 1))
            v = v.copy()
            v[:, vi] -= shift
            v = v[v[:, vi] >= 0]
        return v

    def batch(self, size: int, tasks: tuple[str, ...] = TASKS):
        wins, masks = [], []
        for _ in range(size):
            v = self.window()
            while len(v) == 0:
                v = self.window()
            task = tasks[int(self.rng.integers(len(tasks)))]
            wins.append(v)
            masks.append(task_mask(v, task, self.schema.cards, self.roles_idx, self.rng))
        return collate(wins, masks, self.k)


def fixed_windows(token_sets: list[TokenSet], *, window_frames: int, max_atoms: int,
                  order: str = "velocity", stride: int | None = None) -> list[np.ndarray]:
    """Deterministic windows over each file (for evaluation): starts 0, stride, 2 stride..."""
    stride = stride or window_frames // 2
    out = []
    for t in token_sets:
        for start in range(0, max(n_steps(t) - window_frames // 4, 1), stride):
            v = extract_window(t, start, window_frames=window_frames, max_atoms=max_atoms,
                               order=order).values
            if len(v):
                out.append(v)
    return out
