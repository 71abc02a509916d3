"""Fitting resonant atoms to whole recordings, segment by segment, without seams.

The recording is cut into segments of ``segment_s`` seconds. Segment ``k`` is fitted against
the target minus the ring-out of every atom already fitted (the atoms of earlier segments keep
sounding into it), over a window that extends ``overlap_s`` past the segment's end so that atoms
near its end are judged on their decay too. Atoms start from analysis
(:mod:`atomsynth.offline.analysis`): onsets, spectral peaks grouped into harmonic series, decays
from peak tracking and gains from non-negative least squares; then Adam minimizes a
multi-resolution STFT loss plus a sparsity term on the gains through the differentiable renderer
(:mod:`atomsynth.offline.render_torch`). Atoms that end up silent are pruned. Because the
decoded signal is simply the sum of all atoms, there is nothing to cross-fade: no seams.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from atomsynth.offline.analysis import calibrate_gains, initial_atoms, stft_power
from atomsynth.offline.losses import MultiResolutionSTFTLoss, SparsityLoss
from atomsynth.offline.render_torch import atoms_from_params, params_from_atoms, render_atoms
from atomsynth.rt.atoms import AtomSet, ResonantAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.extent import atom_end_s
from atomsynth.rt.progress import TextProgress
from atomsynth.rt.resample import resample

# name: (forward transform kind, learning-rate multiplier)
_RAW = {
    "onset_s": ("linear_ms", 0.05),
    "gain_db": ("linear", 0.25),
    "pan": ("tanh", 0.02),
    "f0_hz": ("log", 0.0015),
    "t60_s": ("log", 0.03),
    "damping": ("linear", 0.01),
    "inharmonicity": ("log", 0.05),
    "brightness": ("logit", 0.03),
    "cutoff_hz": ("log", 0.02),
    "noise_hz": ("log1p", 0.03),
    "noise_bw_hz": ("log", 0.03),
    "attack_s": ("log", 0.03),
    "burst_shape": ("log", 0.03),
    "mix": ("logit", 0.03),
}
_BOUNDS = {  # fitting ranges, inside the parameter table's with room for compact quantization
    "gain_db": (-120.0, 24.0), "damping": (-2.0, 4.0), "inharmonicity": (1e-9, 0.05),
    "t60_s": (0.005, 30.0), "attack_s": (0.0002, 0.05), "burst_shape": (0.55, 16.0),
    "noise_bw_hz": (20.0, 48000.0), "cutoff_hz": (20.0, 96000.0), "f0_hz": (20.0, 48000.0),
    "noise_hz": (0.0, 48000.0), "brightness": (1e-4, 1 - 1e-4), "mix": (1e-4, 1 - 1e-4),
    "pan": (-0.999, 0.999),
}


@dataclass(frozen=True)
class FitConfig:
    """Options of :func:`fit_audio` (validated on construction).

    Attributes
    ----------
    atoms_per_second : float
        Atom budget: at most this many atoms per second of audio are placed (0.5 to 1000).
    iterations : int
        Adam steps per segment (0 keeps the analysis atoms).
    time_budget_s : float or None
        Wall-clock budget for the whole fit; shared among segments by duration. Stops each
        segment early when its share is spent (iterations remain an upper bound).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``/``"cuda:N"``.
    seed : int
        Seeds the atoms' noise keys and torch; on the CPU a given seed gives identical files.
    sample_rate : int or None
        Rate the fit runs at (the set's rate); default the recording's, at most 22,050 Hz.
    segment_s, overlap_s : float
        Segment length, and how far past its end the loss window reaches.
    max_modes : int
        Most modes per atom (1 to 64).
    learning_rate : float
        Multiplier of the per-parameter Adam step sizes.
    sparsity : float
        Weight of the L1 penalty on linear gains.
    prune_db : float
        Atoms more than this many dB under the loudest atom, or under -100 dB, are dropped.
    fft_sizes : tuple of int
        Resolutions of the multi-resolution STFT loss.
    """

    atoms_per_second: float = 24.0
    iterations: int = 150
    time_budget_s: float | None = None
    device: str = "auto"
    seed: int = 0
    sample_rate: int | None = None
    segment_s: float = 1.0
    overlap_s: float = 0.25
    max_modes: int = 16
    learning_rate: float = 1.0
    sparsity: float = 0.02
    prune_db: float = 60.0
    fft_sizes: tuple[int, ...] = (2048, 1024, 512, 256, 128)

    def __post_init__(self) -> None:
        def check(name, lo, hi):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                raise ParameterError(f"{name} = {v!r} is out of range; allowed [{lo}, {hi}]")

        check("atoms_per_second", 0.5, 1000.0)
        check("iterations", 0, 1_000_000)
        if not isinstance(self.iterations, int):
            raise ParameterError(f"iterations = {self.iterations!r} must be an integer")
        if self.time_budget_s is not None:
            check("time_budget_s", 0.01, 1e7)
        check("seed", 0, 2**32 - 1)
        check("segment_s", 0.05, 30.0)
        check("overlap_s", 0.0, 10.0)
        check("max_modes", 1, 64)
        check("learning_rate", 0.0, 100.0)
        check("sparsity", 0.0, 1e3)
        check("prune_db", 1.0, 200.0)
        if self.sample_rate is not None:
            check("sample_rate", 8000, 384000)
        resolve_device(self.device)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; unknown or absent devices raise."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"device = {device!r} is not a device; use auto, cpu, cuda or "
                             f"cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device = {device!r}: CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise ParameterError(f"device = {device!r}: only cpu and cuda are supported")
    return dev


@dataclass
class FitReport:
    """What a fit did: per-segment losses, iterations, timing and the final atom count."""

    segments: int = 0
    iterations: int = 0
    seconds: float = 0.0
    initial_loss: list[float] = field(default_factory=list)
    final_loss: list[float] = field(default_factory=list)
    atoms_before_pruning: int = 0
    atoms: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------- raw params
def _to_raw(name: str, v: torch.Tensor, seg_start_s: float) -> torch.Tensor:
    kind = _RAW[name][0]
    if name in _BOUNDS:
        lo, hi = _BOUNDS[name]
        v = v.clamp(lo, hi)
    if kind == "linear_ms":
        return (v - seg_start_s) * 1000.0
    if kind == "linear":
        return v.clone()
    if kind == "log":
        return torch.log(v)
    if kind == "log1p":
        return torch.log1p(v)
    if kind == "tanh":
        return torch.atanh(v)
    if kind == "logit":
        return torch.log(v) - torch.log1p(-v)
    raise AssertionError(kind)  # pragma: no cover - the table above is closed


def _from_raw(name: str, r: torch.Tensor, seg_start_s: float) -> torch.Tensor:
    kind = _RAW[name][0]
    if kind == "linear_ms":
        v = seg_start_s + r / 1000.0
        return v.clamp(min=0.0)
    if kind == "linear":
        v = r
    elif kind == "log":
        v = torch.exp(r)
    elif kind == "log1p":
        v = torch.expm1(r)
    elif kind == "tanh":
        v = torch.tanh(r)
    else:
        v = torch.sigmoid(r)
    if name in _BOUNDS:
        lo, hi = _BOUNDS[name]
        v = v.clamp(lo, hi)
    return v


class _Segment:
    """Trainable atoms of one segment."""

    def __init__(self, atoms: ResonantAtoms, seg_start_s: float, sr: float, device, dtype):
        p = params_from_atoms(atoms, dtype=dtype, device=device)
        self.start = seg_start_s
        self.sr = sr
        self.fixed = {k: p[k] for k in ("n_modes", "seed", "preset")}
        self.raw = {
            name: torch.nn.Parameter(_to_raw(name, p[name], seg_start_s))
            for name in _RAW
        }

    def params(self) -> dict[str, torch.Tensor]:
        out = {name: _from_raw(name, r, self.start) for name, r in self.raw.items()}
        # Keep every mode's fundamental under Nyquist.
        out["f0_hz"] = out["f0_hz"].clamp(max=0.49 * self.sr)
        out.update(self.fixed)
        return out

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        groups = [{"params": [r], "lr": _RAW[name][1] * lr} for name, r in self.raw.items()]
        return torch.optim.Adam(groups)


def _prune(atoms: ResonantAtoms, prune_db: float) -> ResonantAtoms:
    if len(atoms) == 0:
        return atoms
    g = atoms.gain_db
    keep = (g >= g.max() - prune_db) & (g > -100.0)
    return atoms.select(keep)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


def fit_audio(
    audio: np.ndarray,
    sample_rate: int,
    config: FitConfig | None = None,
    *,
    progress: TextProgress | None = None,
) -> tuple[AtomSet, FitReport]:
    """Fit resonant atoms to a recording.

    Parameters
    ----------
    audio : ndarray, shape (channels, samples)
        Any length and channel count. Mono and stereo are fitted as they are (stereo with
        ``pan``); more channels are fitted as their stereo downmix (even channels left, odd
        right), since resonant atoms pan across channels 0 and 1.
    sample_rate : int
        Hz.
    config : FitConfig
    progress : callable(fraction, text), optional
        Called after every step with the fraction done and the current loss.

    Returns
    -------
    (AtomSet, FitReport)
        The atoms (sample rate ``config.sample_rate`` or the fit rate, channels 1 or 2,
        ``duration_s`` the recording's) and what the fit did.
    """
    cfg = config or FitConfig()
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 2 or audio.shape[1] == 0 or audio.shape[0] == 0:
        raise ParameterError(f"audio must have shape (channels, samples) with samples > 0, "
                             f"got {audio.shape}")
    if not np.isfinite(audio).all():
        raise ParameterError("audio contains NaN or infinity")
    if audio.shape[0] > 2:
        audio = np.stack([audio[0::2].sum(axis=0), audio[1::2].sum(axis=0)]) / math.sqrt(
            audio.shape[0] / 2)
    sr_in = int(sample_rate)
    sr = int(cfg.sample_rate or min(sr_in, 22050))
    duration_s = audio.shape[1] / sr_in
    if sr != sr_in:
        audio = resample(audio, sr_in, sr)
    channels = audio.shape[0]
    device = resolve_device(cfg.device)
    dtype = torch.float32
    _seed_everything(cfg.seed)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    next_seed = (cfg.seed * 1_000_003) % 2**32
    loss_fn = MultiResolutionSTFTLoss(fft_sizes=cfg.fft_sizes)
    sparse = SparsityLoss(weight=cfg.sparsity)
    seg_len = int(round(cfg.segment_s * sr))
    win_len = seg_len + int(round(cfg.overlap_s * sr))
    n_seg = max(1, math.ceil(audio.shape[1] / seg_len))
    report = FitReport(segments=n_seg, device=str(device))
    fitted: list[ResonantAtoms] = []
    t_start = time.perf_counter()
    total_steps = max(1, n_seg * max(1, cfg.iterations))
    steps_done = 0
    try:
        for k in range(n_seg):
            a = k * seg_len
            b = min(audio.shape[1], a + win_len)
            start_s = a / sr
            target = np.zeros((channels, win_len))
            target[:, : b - a] = audio[:, a:b]
            ring = _ring_in(fitted, start_s, win_len, sr, channels, device, dtype)
            residual = target - ring
            span_s = min(seg_len, audio.shape[1] - a) / sr
            budget = max(1, round(cfg.atoms_per_second * span_s))
            mono = residual.mean(axis=0)
            pans = None
            atoms = initial_atoms(mono, sr, n_atoms=budget, first_seed=next_seed, start_s=start_s,
                                  span_s=span_s, max_modes=cfg.max_modes, pan=pans)
            next_seed = (next_seed + len(atoms)) % 2**32
            tgt = torch.as_tensor(residual, dtype=dtype, device=device)[None]
            if len(atoms) == 0:
                continue
            tgt = loss_fn.prepare(tgt)  # the target's spectra, once per segment
            atoms = _calibrate(atoms, residual, sr, channels, start_s, win_len, device, dtype)
            seg = _Segment(atoms, start_s, sr, device, dtype)
            opt = seg.optimizer(cfg.learning_rate)
            seg_budget = (None if cfg.time_budget_s is None
                          else cfg.time_budget_s * span_s / duration_s)
            t_seg = time.perf_counter()
            with torch.no_grad():
                out = render_atoms(seg.params(), sample_rate=sr, length=win_len,
                                   channels=channels, segment_start_s=start_s)
                report.initial_loss.append(float(loss_fn(out, tgt)))
            last = report.initial_loss[-1]
            for it in range(cfg.iterations):
                opt.zero_grad(set_to_none=True)
                p = seg.params()
                out = render_atoms(p, sample_rate=sr, length=win_len, channels=channels,
                                   segment_start_s=start_s)
                spectral = loss_fn(out, tgt)
                loss = spectral + sparse(p["gain_db"])
                loss.backward()
                opt.step()
                last = float(spectral.detach())
                report.iterations += 1
                steps_done += 1
                if progress is not None:
                    progress(steps_done / total_steps,
                             f"segment {k + 1}/{n_seg} step {it + 1} loss {last:.4f}")
                if seg_budget is not None and time.perf_counter() - t_seg > seg_budget:
                    steps_done += cfg.iterations - it - 1
                    break
            if cfg.iterations:
                with torch.no_grad():
                    out = render_atoms(seg.params(), sample_rate=sr, length=win_len,
                                       channels=channels, segment_start_s=start_s)
                    last = float(loss_fn(out, tgt))
            report.final_loss.append(last)
            with torch.no_grad():
                fitted_atoms = atoms_from_params(seg.params())
            report.atoms_before_pruning += len(fitted_atoms)
            fitted.append(_prune(fitted_atoms, cfg.prune_db))
            if progress is not None:
                progress(steps_done / total_steps, f"segment {k + 1}/{n_seg} loss {last:.4f}")
    finally:
        torch.use_deterministic_algorithms(deterministic)
    resonant = ResonantAtoms.concat(fitted) if fitted else ResonantAtoms.empty()
    report.atoms = len(resonant)
    report.seconds = time.perf_counter() - t_start
    atom_set = AtomSet(
        sample_rate=sr, channels=channels, resonant=resonant, duration_s=duration_s,
        provenance={"tool": "atomsynth fit", "seed": cfg.seed},
    )
    return atom_set, report


def _ring_in(fitted: list[ResonantAtoms], start_s: float, length: int, sr: float,
             channels: int, device, dtype) -> np.ndarray:
    """The sound of already fitted atoms inside the window starting at ``start_s``."""
    if not fitted:
        return np.zeros((channels, length))
    atoms = ResonantAtoms.concat(fitted)
    alive = atom_end_s(atoms, (), sample_rate=sr) > start_s
    atoms = atoms.select(alive)
    if len(atoms) == 0:
        return np.zeros((channels, length))
    with torch.no_grad():
        p = params_from_atoms(atoms, dtype=torch.float64, device=device)
        out = render_atoms(p, sample_rate=sr, length=length, channels=channels,
                           segment_start_s=start_s)
    return out[0].cpu().numpy()


def _calibrate(atoms: ResonantAtoms, target: np.ndarray, sr: float, channels: int,
               start_s: float, length: int, device, dtype) -> ResonantAtoms:
    """Set every atom's gain by NNLS on power spectrograms (see analysis.calibrate_gains)."""
    with torch.no_grad():
        p = params_from_atoms(atoms.with_columns(gain_db=0.0), dtype=dtype, device=device)
        each = render_atoms(p, sample_rate=sr, length=length, channels=channels,
                            segment_start_s=start_s, per_atom=True).cpu().double().numpy()
    mono = each.mean(axis=1)
    atom_power = np.stack([stft_power(x, n_fft=1024, hop=512) for x in mono])
    target_power = stft_power(target.mean(axis=0), n_fft=1024, hop=512)
    amp = calibrate_gains(atom_power, target_power)
    gain_db = 20.0 * np.log10(np.maximum(amp, 1e-5))
    return atoms.with_columns(gain_db=np.clip(gain_db, -100.0, 24.0))


def fit_quality(reference: np.ndarray, decoded: np.ndarray, sample_rate: int) -> dict[str, float]:
    """SNR (dB), multi-resolution log-spectral distance (dB) and mel distance of two (C, T)
    arrays at ``sample_rate`` (the measures of :mod:`atomsynth.offline.quality`)."""
    from atomsynth.offline.quality import log_spectral_distance, mel_distance, snr_db

    return {"snr_db": snr_db(reference, decoded),
            "log_spectral_distance_db": log_spectral_distance(reference, decoded, sample_rate),
            "mel_distance": mel_distance(reference, decoded, sample_rate)}


__all__ = ["FitConfig", "FitReport", "fit_audio", "fit_quality", "resolve_device"]
