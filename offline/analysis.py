"""Analysis that places the first atoms: onsets, spectral peaks, harmonic grouping, decays.

Fitting starts from these atoms instead of random ones. For every onset (spectral flux) the
spectrum just after it is peak-picked (parabolic interpolation on the log magnitude); peaks are
grouped greedily into harmonic series (one atom per series: ``f0_hz``, ``n_modes``,
``brightness`` from the harmonics' level slope), each atom's ``t60_s`` comes from tracking its
fundamental's level over the following frames, and the atoms' gains are solved jointly by
non-negative least squares on power spectrograms (:func:`calibrate_gains`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from atomsynth.rt.atoms import ResonantAtoms
from atomsynth.rt.stft import stft

N_FFT = 2048
HOP = 256


@dataclass(frozen=True)
class Peak:
    """A spectral peak: frequency in Hz and linear magnitude."""

    freq_hz: float
    mag: float


def stft_power(x: np.ndarray, *, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Power spectrogram of a mono signal, Hann window, shape (n_fft // 2 + 1, frames)."""
    x = np.asarray(x, dtype=np.float64)
    spec = stft(x, n_fft=n_fft, hop=hop, n_frames=1 + (x.size + n_fft // 2) // hop)
    return (np.abs(spec) ** 2).T


def detect_onsets(x: np.ndarray, sample_rate: float, *, min_gap_s: float = 0.06,
                  sensitivity: float = 1.5, reexcite_s: float | None = 0.2) -> np.ndarray:
    """Onset times in seconds of a mono signal (half-wave rectified log-spectral flux).

    A frame is an onset when its flux is a local maximum, exceeds the moving median by
    ``sensitivity`` times the flux's median absolute deviation, and lies ``min_gap_s`` after
    the previous onset. If the signal sounds from its start, 0 is an onset. Sustained sound
    (a bowed or blown note, a voice) has no onsets to speak of but has to be re-excited: with
    ``reexcite_s`` set, every loud frame (within 30 dB of the loudest) that lies ``reexcite_s``
    after the previous onset becomes one too.
    """
    p = stft_power(x, n_fft=1024, hop=HOP)
    logp = np.log(p + 1e-6 * (p.max() + 1e-30))  # a -60 dB floor: no flux in the noise
    flux = np.maximum(0.0, np.diff(logp, axis=1)).mean(axis=0)
    flux = np.concatenate([[0.0], flux])
    energy = p.sum(axis=0)
    loud = energy > 1e-4 * (energy.max() + 1e-30)
    mad = np.median(np.abs(flux - np.median(flux))) + 1e-12
    onsets: list[float] = []
    gap = int(math.ceil(min_gap_s * sample_rate / HOP))
    last = -gap
    # Frames reaching past the signal's end see its truncation as broadband flux: skip them.
    last_frame = min(flux.size - 1, (x.size - 512) // HOP + 1)
    for i in range(1, last_frame):
        lo = max(0, i - 8)
        local = np.median(flux[lo:i + 8])
        if (flux[i] >= flux[i - 1] and flux[i] >= flux[i + 1] and loud[i]
                and flux[i] > local + sensitivity * mad * 3 and i - last >= gap):
            onsets.append(_refine_onset(x, i, sample_rate))
            last = i
    if loud[: max(2, gap // 2)].any() and (not onsets or onsets[0] > min_gap_s):
        onsets.insert(0, 0.0)
    if reexcite_s is not None:
        loud30 = energy > 1e-3 * (energy.max() + 1e-30)
        times = sorted(onsets)
        extra = []
        for i in range(last_frame):
            t = max(0.0, i * HOP - 256) / sample_rate
            before = [o for o in times + extra if o <= t + 1e-9]
            after = [o for o in times if o > t]
            if not loud30[i] or (before and t - max(before) < reexcite_s):
                continue
            if after and after[0] - t < min_gap_s:
                continue
            # Only sustained sound: within 6 dB of the loudest frame since the last onset (a
            # decaying note falls faster and needs no new excitation).
            since = int(max(before) * sample_rate / HOP) if before else 0
            if energy[i] >= 0.25 * energy[since:i + 1].max():
                extra.append(t)
        onsets = sorted(times + extra)
    return np.asarray(onsets, dtype=np.float64)


def _refine_onset(x: np.ndarray, frame: int, sample_rate: float, n_fft: int = 1024) -> float:
    """The onset inside flux frame ``frame``: the sharpest rise of 64-sample log energy within
    the samples the frame adds (frames are centred, so frame i ends at i * HOP + n_fft / 2)."""
    lo = max(0, (frame - 1) * HOP + n_fft // 2 - n_fft)
    hi = min(x.size, frame * HOP + n_fft // 2)
    seg = x[lo:hi]
    step = 64
    if seg.size < 3 * step:
        return lo / sample_rate
    e = np.array([np.sum(seg[j:j + step] ** 2) for j in range(0, seg.size - step + 1, step)])
    le = np.log(e + 1e-6 * (e.max() + 1e-30))
    j = int(np.argmax(np.diff(le))) + 1
    return (lo + j * step) / sample_rate


def spectral_peaks(x: np.ndarray, sample_rate: float, *, n_fft: int = N_FFT,
                   floor_db: float = -60.0, max_peaks: int = 64) -> list[Peak]:
    """Peaks of the Hann-windowed spectrum of ``x[:n_fft]``, strongest first, with parabolic
    interpolation of frequency and level on the log magnitude."""
    seg = np.zeros(n_fft)
    seg[: min(n_fft, x.size)] = x[:n_fft]
    win = np.hanning(n_fft + 1)[:-1]
    mag = np.abs(np.fft.rfft(seg * win)) * 2.0 / win.sum()
    db = 20.0 * np.log10(mag + 1e-12)
    top = db.max()
    inner = db[1:-1]
    cand = np.flatnonzero((inner > db[:-2]) & (inner >= db[2:]) & (inner > top + floor_db)) + 1
    peaks = []
    for k in cand:
        a, b, c = db[k - 1], db[k], db[k + 1]
        den = a - 2 * b + c
        delta = 0.5 * (a - c) / den if den != 0 else 0.0
        level = b - 0.25 * (a - c) * delta
        peaks.append(Peak((k + delta) * sample_rate / n_fft, 10.0 ** (level / 20.0)))
    peaks.sort(key=lambda p: -p.mag)
    return peaks[:max_peaks]


def harmonic_groups(peaks: list[Peak], *, max_modes: int = 16, tolerance: float = 0.03,
                    min_f0_hz: float = 40.0) -> list[tuple[float, list[tuple[int, Peak]]]]:
    """Greedy harmonic grouping: ``[(f0_hz, [(harmonic number, peak), ...]), ...]``.

    The strongest unassigned peak is taken as harmonic ``h`` (1 to 6) of the candidate
    fundamental that explains the most peak magnitude within ``tolerance`` (relative) of its
    harmonics 1..max_modes; ties go to the lower harmonic number.
    """
    left = list(peaks)
    groups = []
    while left:
        lead = left[0]
        best = None
        for h in range(1, 7):
            f0 = lead.freq_hz / h
            if f0 < min_f0_hz:
                break
            members = []
            for p in left:
                k = round(p.freq_hz / f0)
                if 1 <= k <= max_modes and abs(p.freq_hz / (k * f0) - 1.0) <= tolerance:
                    members.append((k, p))
            # Keep one peak per harmonic number (the strongest).
            by_k: dict[int, Peak] = {}
            for k, p in members:
                if k not in by_k or p.mag > by_k[k].mag:
                    by_k[k] = p
            if 1 not in by_k and h > 1:
                continue  # a fundamental with no energy is a guess too far
            score = sum(p.mag for p in by_k.values())
            if best is None or score > best[0] * 1.2:
                best = (score, f0, sorted(by_k.items()))
        if best is None:
            best = (lead.mag, lead.freq_hz, [(1, lead)])
        _, f0, members = best
        # Refine f0 from the members (magnitude-weighted least squares through the origin).
        ks = np.array([k for k, _ in members], dtype=np.float64)
        fs = np.array([p.freq_hz for _, p in members])
        ws = np.array([p.mag for _, p in members])
        f0 = float((ws * ks * fs).sum() / (ws * ks * ks).sum())
        groups.append((f0, members))
        used = {id(p) for _, p in members}
        left = [p for p in left if id(p) not in used]
    return groups


def track_t60(power: np.ndarray, freq_hz: float, sample_rate: float, n_fft: int, hop: int,
              *, start_frame: int, stop_frame: int) -> float:
    """T60 in seconds of the partial at ``freq_hz`` from the slope of its level (dB) over the
    frames ``start_frame .. stop_frame`` of a power spectrogram, clamped to [0.02, 30] s."""
    k = int(round(freq_hz * n_fft / sample_rate))
    k = min(max(k, 1), power.shape[0] - 2)
    band = power[k - 1:k + 2, start_frame:stop_frame].sum(axis=0)
    if band.size < 3:
        return 0.5
    db = 10.0 * np.log10(band + 1e-20)
    peak = int(np.argmax(db[: max(1, band.size // 3)]))
    seg = db[peak:]
    # Stop where the partial falls into the floor (40 dB down).
    below = np.flatnonzero(seg < seg[0] - 40.0)
    if below.size:
        seg = seg[: max(3, below[0])]
    if seg.size < 3:
        return 0.05
    t = np.arange(seg.size) * hop / sample_rate
    slope = np.polyfit(t, seg, 1)[0]
    if slope >= -1.0:
        return 30.0
    return float(np.clip(-60.0 / slope, 0.02, 30.0))


def initial_atoms(x: np.ndarray, sample_rate: float, *, n_atoms: int, first_seed: int = 0,
                  start_s: float = 0.0, span_s: float | None = None, max_modes: int = 16,
                  pan: np.ndarray | None = None) -> ResonantAtoms:
    """First atoms for the mono signal ``x`` (whose sample 0 is at time ``start_s``).

    Onsets are taken only within the first ``span_s`` seconds (the segment proper); up to
    ``n_atoms`` atoms are shared among onsets in proportion to their spectral energy; their
    noise keys are ``first_seed, first_seed + 1, ...``. Gains are placeholders (0 dB) to be
    set by :func:`calibrate_gains`.
    """
    sr = float(sample_rate)
    span = x.size / sr if span_s is None else span_s
    onsets = detect_onsets(x, sr)
    onsets = onsets[onsets < span]
    if onsets.size == 0:
        onsets = np.array([0.0])
    power = stft_power(x, n_fft=N_FFT, hop=HOP)
    bounds = np.append(onsets, x.size / sr)
    energy = []
    per_onset = []
    for i, t0 in enumerate(onsets):
        a = int(t0 * sr)
        seg = x[a: a + N_FFT]
        peaks = spectral_peaks(seg, sr)
        per_onset.append(harmonic_groups(peaks, max_modes=max_modes))
        energy.append(float(np.sum(x[a:int(bounds[i + 1] * sr)] ** 2)) + 1e-20)
    energy = np.asarray(energy)
    share = np.maximum(1, np.floor(n_atoms * energy / energy.sum())).astype(int)
    while share.sum() > n_atoms and share.max() > 1:
        share[np.argmax(share)] -= 1
    cols: dict[str, list] = {k: [] for k in (
        "onset_s", "f0_hz", "t60_s", "n_modes", "brightness", "noise_hz", "noise_bw_hz",
        "cutoff_hz", "pan")}
    nyq = 0.5 * sr
    for i, (t0, groups) in enumerate(zip(onsets, per_onset, strict=True)):
        if len(cols["onset_s"]) >= n_atoms:
            break
        f_start = int(t0 * sr / HOP)
        f_stop = max(f_start + 3, int(bounds[i + 1] * sr / HOP) + 1)
        for f0, members in groups[: share[i]]:
            ks = np.array([k for k, _ in members], dtype=np.float64)
            mags = np.array([p.mag for _, p in members])
            n_modes = int(min(max_modes, ks.max(), max(1, math.floor((nyq - 1) / f0))))
            if ks.size >= 2:
                slope = np.polyfit(ks - 1, np.log(mags + 1e-12), 1)[0]
                bright = float(np.clip(np.exp(slope), 0.05, 0.98))
            else:
                bright = 0.5
            t60 = track_t60(power, f0, sr, N_FFT, HOP, start_frame=f_start, stop_frame=f_stop)
            # A sound re-excited soon after needs no long ring of its own to start with.
            t60 = min(t60, max(0.1, 3.0 * (bounds[i + 1] - t0)))
            cols["onset_s"].append(start_s + t0)
            cols["f0_hz"].append(float(np.clip(f0, 20.0, nyq * 0.95)))
            cols["t60_s"].append(t60)
            cols["n_modes"].append(n_modes)
            cols["brightness"].append(bright)
            centre = f0 * (1 + n_modes) / 2
            cols["noise_hz"].append(float(min(centre, nyq * 0.9)))
            cols["noise_bw_hz"].append(float(np.clip(f0 * n_modes, 100.0, nyq)))
            cols["cutoff_hz"].append(float(min(96000.0, max(nyq, 2 * f0))))
            cols["pan"].append(0.0 if pan is None else float(pan[i]))
    n = len(cols["onset_s"])
    return ResonantAtoms(
        n, **{k: np.asarray(v) for k, v in cols.items()},
        gain_db=0.0, damping=0.5, inharmonicity=0.0, attack_s=0.002, burst_shape=2.0, mix=0.0,
        # Consecutive noise keys: delta coding makes them nearly free in compact files.
        seed=(first_seed + np.arange(n, dtype=np.int64)) % 2**32,
    )


def calibrate_gains(atom_power: np.ndarray, target_power: np.ndarray) -> np.ndarray:
    """Linear amplitude of every atom so that their power spectrograms add up to the target's.

    Non-negative least squares on ``sqrt`` -compressed power: ``atom_power`` has shape
    (n, bins, frames), ``target_power`` (bins, frames). Returns amplitudes (n,) >= 0.
    """
    n = atom_power.shape[0]
    if n == 0:
        return np.zeros(0)
    a = atom_power.reshape(n, -1).T
    b = target_power.reshape(-1)
    scale = np.sqrt(np.maximum(a.sum(axis=1), b) + 1e-20)  # compress: weight rows by 1/sqrt
    a = a / scale[:, None]
    b = b / scale
    # The same problem on the (n, n) Cholesky factor of the normal equations, R^T R = A^T A:
    # ||A w - b||^2 = ||R w - R^-T A^T b||^2 + const, so NNLS sees n rows instead of
    # bins x frames (seconds -> milliseconds). Rank-deficient A falls back to the full rows.
    try:
        r = np.linalg.cholesky(a.T @ a).T
    except np.linalg.LinAlgError:
        r = None
    if r is not None and np.all(np.abs(np.diag(r)) > 1e-10 * np.abs(np.diag(r)).max()):
        rhs = np.linalg.solve(r.T, a.T @ b)
        w, _ = nnls(r, rhs, maxiter=50 * n)
    else:
        w, _ = nnls(a, b, maxiter=50 * n)
    return np.sqrt(w)


__all__ = ["Peak", "calibrate_gains", "detect_onsets", "harmonic_groups", "initial_atoms",
           "spectral_peaks", "stft_power", "track_t60"]
