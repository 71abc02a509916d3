"""``atomsynth eval REF.wav DECODED.wav|FILE.atoms``: how close a decoding is to its reference.

Prints SNR, multi-resolution log-spectral distance, mel distance and ViSQOL (audio mode; the
measures of :mod:`atomsynth.offline.quality`), and for an atom file its atoms per second and the
bitrate of its compact encoding. ``--plot out.png`` draws both spectrograms with the atoms over
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from atomsynth.rt.errors import AtomsynthError, ParameterError


def add_arguments(parser) -> None:
    parser.add_argument("reference", help="reference audio file")
    parser.add_argument("decoded", help="decoded audio file, or an atom file (.atoms) to render")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="draw reference and decoded spectrograms with the atoms over them")
    parser.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (slow)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures")


def _match_channels(ref: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if ref.shape[0] == dec.shape[0]:
        return ref, dec
    if ref.shape[0] > 2 and dec.shape[0] == 2:  # fit's stereo downmix of many channels
        ref = np.stack([ref[0::2].sum(axis=0), ref[1::2].sum(axis=0)]) / np.sqrt(ref.shape[0] / 2)
        return ref, dec
    return ref.mean(axis=0, keepdims=True), dec.mean(axis=0, keepdims=True)


def evaluate(reference_path, decoded_path, *, use_visqol: bool = True) -> tuple[dict, dict]:
    """Figures for one pair, and what the plot needs (arrays, rate, atom set or None)."""
    from atomsynth.offline import quality
    from atomsynth.rt.atomfile import load, to_bytes
    from atomsynth.rt.audio_io import read_audio
    from atomsynth.rt.reference import render
    from atomsynth.rt.resample import resample

    ref, sr = read_audio(reference_path)
    if ref.shape[1] == 0:
        raise ParameterError(f"{reference_path}: the reference holds no samples")
    duration = ref.shape[1] / sr
    atom_set = None
    figures: dict = {"reference": str(reference_path), "decoded": str(decoded_path),
                     "duration_s": duration}
    if Path(decoded_path).suffix == ".atoms":
        atom_set = load(decoded_path)
        dec = render(atom_set, duration_s=duration)
        if atom_set.sample_rate != sr:
            dec = resample(dec, atom_set.sample_rate, sr, length=ref.shape[1])
        compact = len(to_bytes(atom_set, compact=True))
        figures["atoms"] = atom_set.n_atoms
        figures["atoms_per_second"] = atom_set.n_atoms / duration
        figures["bitrate_bps"] = compact * 8.0 / duration
        figures["file_bytes"] = Path(decoded_path).stat().st_size
    else:
        dec, sr_dec = read_audio(decoded_path)
        if sr_dec != sr:
            dec = resample(dec, sr_dec, sr, length=ref.shape[1])
    ref, dec = _match_channels(ref, dec)
    figures["snr_db"] = quality.snr_db(ref, dec)
    figures["log_spectral_distance_db"] = quality.log_spectral_distance(ref, dec, sr)
    figures["mel_distance"] = quality.mel_distance(ref, dec, sr)
    if use_visqol:
        try:
            figures["visqol"] = quality.visqol(ref, dec, sr)
        except (AtomsynthError, ValueError) as exc:  # ValueError: too short for ViSQOL
            figures["visqol"] = None
            figures["visqol_error"] = str(exc)
    return figures, {"ref": ref, "dec": dec, "sr": sr, "atom_set": atom_set}


def plot(path, ref: np.ndarray, dec: np.ndarray, sr: int, atom_set=None, *,
         title: str = "") -> None:
    """Spectrograms of reference and decoding (dB, log frequency) with the atoms drawn over."""
    try:
        import matplotlib
    except ImportError:
        raise AtomsynthError("--plot needs matplotlib: pip install 'atomsynth[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from atomsynth.offline.analysis import stft_power

    fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True, sharey=True)
    n_fft, hop = 2048, 256
    top = None
    for ax, x, name in ((axes[0], ref, "reference"), (axes[1], dec, "decoded")):
        p = stft_power(x.mean(axis=0), n_fft=n_fft, hop=hop)
        db = 10 * np.log10(p + 1e-12)
        top = db.max() if top is None else top
        t = np.arange(p.shape[1]) * hop / sr
        f = np.arange(p.shape[0]) * sr / n_fft
        ax.pcolormesh(t, f[1:], db[1:], vmin=top - 90, vmax=top, shading="auto", cmap="magma")
        ax.set_yscale("log")
        ax.set_ylim(30, sr / 2)
        ax.set_ylabel("Hz")
        ax.set_title(f"{name}" + (f" — {title}" if title and name == "reference" else ""))
    if atom_set is not None and len(atom_set.resonant):
        from atomsynth.rt.modes import atom_modes

        res = atom_set.resonant
        bank = atom_modes(res, atom_set.mode_tables, atom_set.sample_rate)
        g = res.gain_db
        alpha = np.clip((g - g.max() + 60) / 60, 0.15, 1.0)
        for ax in axes:
            for i in range(len(res)):
                on = res.onset_s[i]
                for f, t60, a in zip(bank.freq_hz[i], bank.t60_s[i], bank.amp[i], strict=True):
                    if a <= 0:
                        continue
                    ax.plot([on, on + min(t60, ref.shape[1] / sr - on)], [f, f], color="cyan",
                            lw=0.8, alpha=float(alpha[i]) * float(min(1.0, a)))
                ax.plot([on], [res.f0_hz[i]], "o", color="cyan", ms=3, alpha=float(alpha[i]))
    if atom_set is not None and len(atom_set.mdct):
        from atomsynth.rt.mdct import n_frames  # noqa: F401 - the same grid definition

        m = atom_set.mdct
        hop_n = m.scale // 2
        t = m.frame * hop_n / atom_set.sample_rate
        f = (m.bin + 0.5) * atom_set.sample_rate / m.scale
        for ax in axes:
            ax.scatter(t, f, s=2, c="cyan", alpha=0.4)
    axes[1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args) -> int:
    from atomsynth.commands import _validate as v
    from atomsynth.rt.atomic import write_text_atomic

    for path, option in ((args.json, "--json"), (args.plot, "--plot")):
        if path:
            v.output_file(path, option)
    figures, data = evaluate(args.reference, args.decoded, use_visqol=not args.no_visqol)
    print(f"{args.decoded} against {args.reference} ({figures['duration_s']:.2f} s):")
    print(f"  SNR                    {figures['snr_db']:8.2f} dB")
    print(f"  log-spectral distance  {figures['log_spectral_distance_db']:8.2f} dB")
    print(f"  mel distance           {figures['mel_distance']:8.3f}")
    if "visqol" in figures:
        v = figures["visqol"]
        print("  ViSQOL (audio)         " + (f"{v:8.3f}" if v is not None else
                                              f"   n/a ({figures.get('visqol_error')})"))
    if "atoms" in figures:
        print(f"  atoms                  {figures['atoms']:8d} ({figures['atoms_per_second']:.1f}"
              f" per second)")
        print(f"  bitrate (compact)      {figures['bitrate_bps'] / 1000:8.2f} kbps")
    if args.plot:
        plot(args.plot, data["ref"], data["dec"], data["sr"], data["atom_set"],
             title=Path(args.decoded).name)
        print(f"wrote {args.plot}")
    if args.json:
        write_text_atomic(args.json, json.dumps(figures, indent=2))
    return 0
