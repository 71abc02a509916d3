"""Output devices as PortAudio (through sounddevice) lists them, and choosing one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from atomsynth.rt.errors import AudioDeviceError


def list_output_devices() -> list[dict[str, Any]]:
    """Every PortAudio device with output channels: name, index, host API, channels."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise AudioDeviceError(f"sounddevice / PortAudio is not available ({exc})") from None
    out = []
    for i, dev in enumerate(sd.query_devices()):
        if dev["max_output_channels"] > 0:
            out.append({
                "name": dev["name"], "index": i,
                "hostapi": sd.query_hostapis(dev["hostapi"])["name"],
                "channels": int(dev["max_output_channels"]),
                "default_samplerate": float(dev["default_samplerate"]),
            })
    return out


def terminate_portaudio() -> int:
    """Undo every level of this process's PortAudio initialization (sounddevice counts them);
    returns how many there were. Streams still open become invalid."""
    import sounddevice as sd

    levels = sd._initialized  # sounddevice's documented way to re-initialize PortAudio
    for _ in range(levels):
        sd._terminate()
    return levels


def initialize_portaudio(levels: int = 1) -> None:
    """Initialize PortAudio again (``levels`` times, at least once): it enumerates the host
    APIs and their devices anew."""
    import sounddevice as sd

    for _ in range(max(levels, 1)):
        sd._initialize()


def rescan_output_devices() -> list[dict[str, Any]]:
    """Enumerate the devices again in this process (a sound card plugged in, a JACK server
    started since PortAudio was initialized) and return :func:`list_output_devices`.

    For client processes (the app, the command line): their PortAudio only lists devices, the
    server plays (a server started later scans for itself). Streams this process has open
    become invalid.
    """
    try:
        levels = terminate_portaudio()
    except (ImportError, OSError) as exc:
        raise AudioDeviceError(f"sounddevice / PortAudio is not available ({exc})") from None
    initialize_portaudio(levels)
    return list_output_devices()


def device_list_text(devices: list[dict[str, Any]]) -> str:
    if not devices:
        return "no output devices are available"
    return "available output devices: " + "; ".join(
        f"[{d['index']}] {d['name']} ({d['hostapi']}, {d['channels']} ch)" for d in devices)


def resolve_output_device(device: int | str | None) -> int:
    """The PortAudio index of ``device`` (None: the default output; int; name substring)."""
    devices = list_output_devices()
    if not devices:
        raise AudioDeviceError("no audio output device found; " + device_list_text(devices))
    if device is None:
        import sounddevice as sd

        default = sd.default.device[1] if isinstance(sd.default.device, Sequence) else None
        if default is not None and default >= 0 and any(d["index"] == default for d in devices):
            return int(default)
        return int(devices[0]["index"])
    if isinstance(device, (int, np.integer)) or (isinstance(device, str) and device.isdigit()):
        idx = int(device)
        if any(d["index"] == idx for d in devices):
            return idx
        raise AudioDeviceError(f"device = {device!r} is not an output device; "
                               + device_list_text(devices))
    if isinstance(device, str):
        want = device.lower()
        for d in devices:
            if want in d["name"].lower() or want == d["hostapi"].lower():
                return int(d["index"])
        raise AudioDeviceError(f"no output device matches {device!r}; "
                               + device_list_text(devices))
    raise AudioDeviceError(f"device = {device!r} must be None, an index or a name")


__all__ = ["device_list_text", "initialize_portaudio", "list_output_devices",
           "rescan_output_devices", "resolve_output_device", "terminate_portaudio"]
