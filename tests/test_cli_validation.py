"""Issue 16, command line: every bad option or path gets one line naming it, exit 2 (usage) or
1 (failure), no traceback; what the user asked for is done or the command fails."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from atomsynth.cli import main
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import save

SR = 22050


@pytest.fixture
def atom_file(tmp_path):
    atoms = ResonantAtoms(onset_s=[0.0, 0.05], f0_hz=[220.0, 330.0], t60_s=0.1, gain_db=-6.0,
                          group=[0, 1])
    path = tmp_path / "small.atoms"
    save(AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=0.2), path)
    return path


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "in.wav"
    x = np.random.default_rng(16).standard_normal((SR // 5, 2)) * 0.1
    sf.write(path, x, SR)
    return path


def _read_only_dir(tmp_path) -> Path:
    """A folder nobody can write into: chmod 555, or (as root, where chmod does not bind) a
    sysfs folder."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError:
        return d
    d.chmod(0o755)
    for cand in ("/sys/kernel", "/sys"):
        try:
            with tempfile.TemporaryFile(dir=cand):
                pass
        except OSError:
            return Path(cand)
    pytest.skip("no read-only folder available")


def _one_line(capsys, code, argv, *names):
    got = main(argv)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert got == code, (argv, got, err)
    assert len(lines) == 1 and "error" in lines[0], err
    assert "Traceback" not in err
    for n in names:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _out_cases(atom_file, wav, target, option="-o"):
    t = str(target)
    return {
        "render": ["render", str(atom_file), option, t, "--quiet"],
        "atomize": ["atomize", str(wav), "-o", t, "--single-scale", "--quiet"],
        "fit": ["fit", str(wav), "-o", t, "--iterations", "1", "--quiet"],
        "presets apply": ["presets", "apply", "gong", str(atom_file), "-o", t],
        "eval --json": ["eval", str(wav), str(wav), "--no-visqol", "--json", t],
    }


@pytest.mark.parametrize("command", ["render", "atomize", "fit", "presets apply", "eval --json"])
def test_output_to_a_directory(capsys, tmp_path, atom_file, wav, command):
    argv = _out_cases(atom_file, wav, tmp_path)[command]
    _one_line(capsys, 2, argv, str(tmp_path), "directory")


@pytest.mark.parametrize("command", ["render", "atomize", "fit", "presets apply", "eval --json"])
def test_output_into_a_read_only_folder(capsys, tmp_path, atom_file, wav, command):
    target = _read_only_dir(tmp_path) / "out.atoms"
    if command == "render":
        target = target.with_suffix(".wav")
    argv = _out_cases(atom_file, wav, target)[command]
    _one_line(capsys, 1, argv, str(target.parent), "not writable")


def test_output_folder_created_when_missing(capsys, tmp_path, atom_file):
    out = tmp_path / "a" / "b" / "mix.wav"
    assert main(["render", str(atom_file), "-o", str(out), "--quiet"]) == 0
    assert sf.info(out).samplerate == SR


def test_stems_at_a_file(capsys, tmp_path, atom_file, wav):
    _one_line(capsys, 2, ["render", str(atom_file), "-o", str(tmp_path / "m.wav"), "--stems",
                          str(wav)], "--stems", str(wav), "not a folder")
    assert not (tmp_path / "m.wav").exists()


@pytest.mark.parametrize("option,value", [
    ("--duration", "nan"), ("--duration", "inf"), ("--duration", "-1"), ("--duration", "1e9"),
    ("--duration", "0"), ("--block-size", "0"), ("--block-size", "-1"),
    ("--sample-rate", "0"), ("--sample-rate", "-44100"), ("--subtype", "NOPE"),
])
def test_render_bad_numbers(capsys, tmp_path, atom_file, option, value):
    out = tmp_path / "x.wav"
    _one_line(capsys, 2, ["render", str(atom_file), "-o", str(out), option, value], option, value)
    assert not out.exists()


def test_subtype_the_format_cannot_hold(capsys, tmp_path, atom_file):
    _one_line(capsys, 2, ["render", str(atom_file), "-o", str(tmp_path / "x.flac"), "--subtype",
                          "FLOAT"], "--subtype", "FLOAT", "FLAC")


@pytest.mark.parametrize("argv,option", [
    (["play", "--block-size", "0"], "--block-size"),
    (["play", "--sample-rate", "0"], "--sample-rate"),
    (["play", "--pitch", "nan"], "--pitch"),
    (["fit", "x.wav", "-o", "y.atoms", "--segment", "inf"], "--segment"),
    (["fit", "x.wav", "-o", "y.atoms", "--atoms-per-second", "-3"], "--atoms-per-second"),
    (["atomize", "x.wav", "-o", "y.atoms", "--greed", "nan"], "--greed"),
    (["atomize", "x.wav", "-o", "y.atoms", "--levels", "1"], "--levels"),
])
def test_other_commands_bad_numbers(capsys, argv, option):
    _one_line(capsys, 2, argv, option)


def test_fit_on_a_one_sample_wav(capsys, tmp_path):
    one = tmp_path / "one.wav"
    sf.write(one, np.zeros((1, 1)), SR)
    _one_line(capsys, 1, ["fit", str(one), "-o", str(tmp_path / "o.atoms"), "--quiet"],
              str(one), "too short")


def test_info_dev_zero(capsys):
    _one_line(capsys, 1, ["info", "/dev/zero"], "/dev/zero", "not a regular file")


def test_info_directory(capsys, tmp_path):
    _one_line(capsys, 1, ["info", str(tmp_path)], str(tmp_path), "directory")


def test_presets_apply_absent_group(capsys, tmp_path, atom_file):
    out = tmp_path / "p.atoms"
    _one_line(capsys, 2, ["presets", "apply", "gong", str(atom_file), "-o", str(out), "--group",
                          "99"], "--group", "99")
    _one_line(capsys, 2, ["presets", "apply", "gong", str(atom_file), "-o", str(out), "--group",
                          "99999"], "--group", "99999")
    assert not out.exists()


def test_presets_apply_huge_range_returns_at_once(capsys, tmp_path, atom_file):
    _one_line(capsys, 2, ["presets", "apply", "gong", str(atom_file), "-o",
                          str(tmp_path / "p.atoms"), "--atoms", "0-99999999999"],
              "--atoms", "99999999999")


@pytest.mark.parametrize("spec,words", [
    (["--effect", "bogus"], ["bogus", "unknown"]),
    (["--effect", "reverb:nosuch=1"], ["reverb", "nosuch"]),
    (["--effect", "lowpass:cutoff_frequency_hz=-5"], ["cutoff_frequency_hz", "-5"]),
    (["--effect", "gain:gain_db=1e308"], ["gain_db", "1e+308"]),
    (["--effect", "reverb:room_size=nan"], ["room_size", "nan"]),
    (["--plugin", "MISSING"], ["MISSING", "no such file"]),
    (["--plugin", "RANDOM"], ["RANDOM", "cannot load"]),
    (["--plugin", "WAV"], ["WAV", "cannot load"]),
    (["--room-ir", "hall=MISSING"], ["MISSING"]),
    (["--room-ir", "hall=RANDOM"], ["RANDOM"]),
])
def test_render_fails_when_an_effect_cannot_be_made(capsys, tmp_path, wav, spec, words):
    atoms = ResonantAtoms(onset_s=[0.0], f0_hz=[220.0], t60_s=0.1, room=[0], wet=[0.5])
    path = tmp_path / "r.atoms"
    save(AtomSet(sample_rate=SR, channels=2, resonant=atoms, room_names=("hall",),
                 duration_s=0.2), path)
    rnd = tmp_path / "random.vst3"
    rnd.write_bytes(np.random.default_rng(1).bytes(4096))
    subst = {"MISSING": str(tmp_path / "missing.vst3"), "RANDOM": str(rnd), "WAV": str(wav)}
    for k, val in subst.items():
        spec = [s.replace(k, val) for s in spec]
        words = [w.replace(k, val) for w in words]
    out = tmp_path / "x.wav"
    _one_line(capsys, 1, ["render", str(path), "-o", str(out), "--quiet", *spec], *words)
    assert not out.exists()


def test_room_ir_for_a_room_the_set_lacks(capsys, tmp_path, atom_file, wav):
    _one_line(capsys, 2, ["render", str(atom_file), "-o", str(tmp_path / "x.wav"), "--room-ir",
                          f"nosuch={wav}"], "--room-ir", "nosuch")


def test_effect_in_range_still_renders(capsys, tmp_path, atom_file):
    out = tmp_path / "x.wav"
    assert main(["render", str(atom_file), "-o", str(out), "--quiet", "--effect",
                 "lowpass:cutoff_frequency_hz=2000", "--effect", "gain:gain_db=-6"]) == 0
    y, sr = sf.read(out)
    assert sr == SR and np.isfinite(y).all() and 0 < np.abs(y).max() < 1.0


def test_loud_mix_is_reported(capsys, tmp_path, atom_file):
    out = tmp_path / "x.wav"
    assert main(["render", str(atom_file), "-o", str(out), "--quiet", "--effect",
                 "gain:gain_db=40"]) == 0
    text = capsys.readouterr().out
    peak_db = 20 * np.log10(np.abs(sf.read(out)[0]).max())
    assert peak_db > 0 and "above 0 dBFS" in text and f"{peak_db:+.1f}" in text


def test_debug_shows_the_traceback(capsys, tmp_path):
    assert main(["--debug", "info", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "directory" in err.splitlines()[-1]


def test_unexpected_exception_is_one_line(capsys, monkeypatch, atom_file):
    import atomsynth.commands.info as info

    def boom(*a, **k):
        raise ZeroDivisionError("synthetic")

    monkeypatch.setattr(info, "describe", boom)
    _one_line(capsys, 1, ["info", str(atom_file)], "ZeroDivisionError", "synthetic", "--debug")


def test_long_dry_mix_streams_to_the_file(capsys, tmp_path, monkeypatch):
    """A mix larger than the reference renderer may hold is written block by block by the
    streaming synthesizer (the bound is lowered here so the test stays small)."""
    import atomsynth.commands.render as render_cmd
    from atomsynth.rt.reference import render

    atoms = ResonantAtoms(onset_s=[0.0, 0.3], f0_hz=[220.0, 330.0], t60_s=0.2, gain_db=-6.0)
    aset = AtomSet(sample_rate=SR, channels=2, resonant=atoms, duration_s=1.0)
    path = tmp_path / "long.atoms"
    save(aset, path)
    monkeypatch.setattr(render_cmd, "REFERENCE_MAX_BYTES", 1 << 16)
    out = tmp_path / "long.wav"
    assert main(["render", str(path), "-o", str(out), "--quiet", "--precision", "float64"]) == 0
    assert "streaming synthesizer" in capsys.readouterr().out
    y, sr = sf.read(out, always_2d=True)
    ref = render(aset, sample_rate=SR, duration_s=1.0)
    assert sr == SR and y.shape == ref.T.shape
    np.testing.assert_allclose(y.T, ref, rtol=0, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("argv,code,names", [
    (["serve", "--osc-port", "99999999", "--no-output"], 2, ["--osc-port", "99999999"]),
    (["serve", "--block-size", "0", "--no-output"], 2, ["--block-size"]),
    (["encode", "{wav}", "-o", "{tmp}", "--kbps", "12"], 2, ["-o", "directory"]),
    (["encode", "{wav}", "-o", "{tmp}/x.atoms", "--kbps", "nan"], 2, ["kbps", "nan"]),
    (["decode", "{atoms}", "-o", "{tmp}"], 2, ["-o", "directory"]),
    (["decode", "{atoms}", "-o", "{tmp}/x.wav", "--sample-rate", "0"], 2, ["--sample-rate"]),
    (["export", "{atoms}", "-o", "{tmp}/x.csv/"], 2, ["-o", "directory"]),
    (["export", "{atoms}", "-o", "{tmp}/x.mid", "--ppq", "1"], 2, ["--ppq"]),
    (["import", "{tmp}/missing.csv", "-o", "{tmp}/x.atoms"], 1, ["missing.csv"]),
    (["import", "{tmp}/x.csv", "-o", "{tmp}", "--format", "csv"], 2, ["-o", "directory"]),
])
def test_the_newer_commands_validate_their_options_too(capsys, tmp_path, atom_file, wav, argv,
                                                       code, names):
    """serve, encode, decode, export and import go through the same validation layer."""
    argv = [a.format(wav=wav, atoms=atom_file, tmp=tmp_path) for a in argv]
    _one_line(capsys, code, argv, *names)
