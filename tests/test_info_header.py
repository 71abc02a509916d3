"""Issue 16, ``info`` reads only what it needs: a large file is described from its header
(counts, duration, group and room names, presets, bitrate) without reading its payload."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from atomsynth.cli import main
from atomsynth.commands.info import FULL_MAX_ATOMS
from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import MAGIC, read_summary, save
from atomsynth.rt.errors import AtomFileError

N = 100_000


@pytest.fixture(scope="module")
def large_file(tmp_path_factory):
    """A 100,000-atom exact file whose payload is then damaged: any decoding of it fails
    with a checksum error, so a describe that succeeds cannot have decoded an atom."""
    rng = np.random.default_rng(3)
    atoms = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 600, N)),
                          f0_hz=rng.uniform(50, 5000, N), t60_s=0.5, gain_db=-20.0,
                          group=rng.integers(0, 3, N), seed=np.arange(N))
    path = tmp_path_factory.mktemp("info") / "large.atoms"
    s = AtomSet(sample_rate=48000, channels=2, duration_s=600.0, resonant=atoms,
                group_names=("a", "b", "c"), room_names=("hall",))
    save(s, path)
    data = bytearray(path.read_bytes())
    data[-200:] = bytes(200)  # the last column's zlib stream: checksum and inflate both fail
    path.write_bytes(bytes(data))
    return path


def test_large_file_info_reads_only_the_header(large_file, capsys):
    assert N > FULL_MAX_ATOMS
    assert main(["info", str(large_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["decoded"] is False
    assert info["atoms"] == {"resonant": N, "mdct": 0}
    assert info["duration_s"] == 600.0
    assert [g["name"] for g in info["groups"]] == ["a", "b", "c"]
    assert info["rooms"] == ["hall"]
    size = large_file.stat().st_size
    assert info["file_bytes"] == size
    assert info["file_bitrate_bps"] == pytest.approx(size * 8 / 600.0, rel=1e-12)
    assert info["atoms_per_second"] == pytest.approx(N / 600.0, rel=1e-12)
    assert info["compact_bytes"] is None  # an exact file: not re-encoded
    # the text form says where the figures come from
    assert main(["info", str(large_file)]) == 0
    assert "read from the header" in capsys.readouterr().out


def test_full_decodes_and_so_meets_the_damaged_payload(large_file, capsys):
    """Proof that the default path decoded nothing: decoding this payload fails."""
    assert main(["info", str(large_file), "--full"]) == 1
    assert "large.atoms" in capsys.readouterr().err


def test_summary_reads_a_bounded_prefix(large_file):
    s = read_summary(large_file)
    assert s.mode == "exact" and s.n_atoms == N and s.header.channels == 2
    assert len(s.header.resonant) == 0  # the header only


def test_summary_refuses_a_bad_header(tmp_path):
    bad = tmp_path / "bad.atoms"
    bad.write_bytes(struct.pack("<8sHHIII", MAGIC, 1, 2, 1000, 10, 0) + bytes(10))
    with pytest.raises(AtomFileError, match="bad.atoms: truncated inside the header"):
        read_summary(bad)
