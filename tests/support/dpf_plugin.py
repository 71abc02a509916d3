"""Python side of build_dpf_plugin.sh: build/locate the "atomsynth test gain" VST3.

    from tests.support.dpf_plugin import build_test_gain_plugin
    path = build_test_gain_plugin(outdir)      # .../atomsynth-test-gain.vst3
    plugin = pedalboard.load_plugin(str(path))
    plugin.gain_db = -6.0; plugin.polarity = True

pedalboard names the parameters ``gain_db`` (from "Gain" + unit "dB") and
``polarity``. pedalboard snaps ``plugin.gain_db = x`` to a grid of 1001 values
(steps of 0.072 dB from -60; -60, -6, 3 and 12 are on it, 0 is not: it becomes
-1e-06). For an exact arbitrary gain set the normalised value instead:
``set_gain_db_exact(plugin, x)``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "build_dpf_plugin.sh"
DPF_PATH = Path("/usr/share/dpf")
PLUGIN_NAME = "atomsynth test gain"
GAIN_MIN_DB, GAIN_MAX_DB = -60.0, 12.0


def dpf_missing_reason(dpf_path: Path = DPF_PATH) -> str | None:
    """Why the plugin cannot be built here, or None (for pytest.skip)."""
    if not (dpf_path / "Makefile.plugins.mk").is_file():
        return f"no DPF in {dpf_path} (apt-get install dpf-source)"
    for tool in ("make", "g++", "flock"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install g++ make util-linux)"
    return None


CRASH_ABOVE_DB = 6.0
"""The crash variant aborts when its Gain parameter is set above this."""


def build_test_gain_plugin(outdir: str | Path, timeout: float = 300.0, *,
                           crash: bool = False) -> Path:
    """Build (or reuse) OUTDIR/atomsynth-test-gain.vst3 and return its path; with ``crash``,
    OUTDIR/atomsynth-test-crash.vst3, which calls abort() when Gain goes above
    :data:`CRASH_ABOVE_DB` dB."""
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(outdir)] + (["crash"] if crash else []),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"build_dpf_plugin.sh failed ({proc.returncode}):\n{proc.stderr}")
    return Path(proc.stdout.strip().splitlines()[-1])


def set_gain_db_exact(plugin, gain_db: float) -> None:
    """Set the Gain parameter without pedalboard's 0.072 dB value grid."""
    plugin.parameters["gain_db"].raw_value = (gain_db - GAIN_MIN_DB) / (GAIN_MAX_DB - GAIN_MIN_DB)
