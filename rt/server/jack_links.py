"""The server's JACK client name and the connections of its ports.

PortAudio names its JACK client ``PortAudio`` unless ``PaJack_SetClientName`` is called before
PortAudio is initialized; the server calls it (:func:`set_jack_client_name`) so that its ports
are ``<name>:out_1``, ``<name>:out_2``… across restarts. The client that restarts a server
records the connections of those ports (:func:`port_links`, through ``jack_lsp -c``) while the
server runs and makes them again on the new one (:func:`restore_links`, ``jack_connect``).
Without JACK's command-line tools the links are not recorded (and nothing fails).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

_NAME_BUFFER: ctypes.Array | None = None  # PortAudio keeps the pointer, not a copy
JACK_NAME = "atomsynth"
"""The default JACK client name of a server."""


def _portaudio() -> ctypes.CDLL | None:
    try:
        import sounddevice as sd
    except (ImportError, OSError):
        return None
    try:
        return ctypes.CDLL(sd._libname)
    except OSError:
        return None


def set_jack_client_name(name: str) -> bool:
    """Make PortAudio's JACK client ``name`` (re-initializes PortAudio; call before any stream
    is open). False when this PortAudio has no JACK host API."""
    global _NAME_BUFFER
    lib = _portaudio()
    if lib is None or not hasattr(lib, "PaJack_SetClientName"):
        return False
    from atomsynth.rt.server.devices import initialize_portaudio, terminate_portaudio

    _NAME_BUFFER = ctypes.create_string_buffer(name.encode())
    levels = terminate_portaudio()
    lib.PaJack_SetClientName(_NAME_BUFFER)
    initialize_portaudio(levels)
    return True


def jack_client_name() -> str:
    """The name JACK gave PortAudio's client (JACK appends ``-01``… when it is taken); empty
    without JACK."""
    lib = _portaudio()
    if lib is None or not hasattr(lib, "PaJack_GetClientName"):
        return ""
    fn = lib.PaJack_GetClientName
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    out = ctypes.c_char_p()
    if fn(ctypes.byref(out)) != 0 or not out.value:
        return ""
    return out.value.decode(errors="replace")


def tools_available() -> bool:
    return shutil.which("jack_lsp") is not None and shutil.which("jack_connect") is not None


def port_links(client: str, *, timeout_s: float = 1.0) -> list[tuple[str, str]] | None:
    """``(short port name, other port)`` for every connection of ``client``'s ports; None when
    they cannot be read (no JACK tools, no JACK server)."""
    if not client or not tools_available():
        return None
    try:
        out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True,
                             timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    links, port = [], None
    prefix = client + ":"
    for line in out.stdout.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            if port is not None:
                links.append((port, line.strip()))
        else:
            port = line.strip()[len(prefix):] if line.startswith(prefix) else None
    return links


def restore_links(client: str, links: list[tuple[str, str]], *,
                  timeout_s: float = 2.0) -> list[str]:
    """Connect ``client:port`` to each recorded other port again (output ports as sources);
    returns the problems (empty when every link is back)."""
    problems = []
    for port, other in links:
        ours = f"{client}:{port}"
        src, dst = (ours, other) if port.startswith("out") else (other, ours)
        try:
            r = subprocess.run(["jack_connect", src, dst], capture_output=True, text=True,
                               timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{src} -> {dst}: {exc}")
            continue
        if r.returncode != 0 and "already" not in (r.stderr + r.stdout):
            problems.append(f"{src} -> {dst}: {(r.stderr or r.stdout).strip()}")
    return problems


__all__ = ["JACK_NAME", "jack_client_name", "port_links", "restore_links",
           "set_jack_client_name"]
