"""What crosses between the audio server and its clients: one shared-memory segment of fixed-size
records, plus one short-lived segment per atom set (its ``.atoms`` bytes). Nothing is pickled.

The server's segment (name ``atomsynth-<server name>``) holds, in order:

* the server record (:data:`SERVER_DTYPE`): pid, state, heartbeat, the stream's sample rate,
  block size, latency, device, real-time priority granted, garbage-collector mode, problem;
* :data:`N_SLOTS` client slots, each a slot record (:data:`SLOT_DTYPE`: state and client pid),
  a command ring (client to server, :data:`CMD_DTYPE`) and an event ring (server to client,
  :data:`EVT_DTYPE`: status snapshots about 50 times a second, acknowledgements, errors,
  notices such as a lost device). Both are :class:`~atomsynth.rt.server.rings.Ring` (SPSC).

Variable-size data (an atom set's ``.atoms`` bytes, a JSON description of an effect change or
of per-atom edits) travels in its own segment: the client creates it and names it in the
command record; the server copies it out and acknowledges the command, then the client unlinks
it.
"""

from __future__ import annotations

import sys
from multiprocessing import shared_memory

import numpy as np

from atomsynth.rt.server.rings import Ring, ring_bytes

MAGIC = 0x41544F4D53594E31  # "ATOMSYN1"
VERSION = 2  # 2: jack_name in the server record, OP_RENDER
N_SLOTS = 8
CMD_CAPACITY = 2048
EVT_CAPACITY = 512
MAX_LEVELS = 8

# server states
(S_STARTING, S_READY, S_FAILED, S_CLOSED) = range(4)
# slot states
(SLOT_FREE, SLOT_CLAIMED, SLOT_ATTACHED, SLOT_DETACHING) = range(4)

# command opcodes (client -> server)
OP_LOAD = 1       # blob: .atoms bytes
OP_PLAY = 2
OP_PAUSE = 3
OP_SEEK = 4       # f0: seconds
OP_LOOP = 5       # i0: 1 set / 0 clear; f0 start_s, f1 end_s
OP_MACRO = 6      # name, f0
OP_GROUP = 7      # i0 group; mask: GROUP_* fields present; f0 gain_db, f1 pan, f2 room_send,
#                   i1 bit 0 mute, bit 1 solo
OP_ATOMS = 8      # blob: JSON {"indices": [...], "params": {...}}
OP_EFFECTS = 9    # blob: JSON effect change (see host.apply_effect_change)
OP_DETACH = 10
OP_SHUTDOWN = 11
OP_STOP = 12      # pause and return to 0
OP_CAPTURE = 13   # blob: a float32 capture buffer (pa_stream.CaptureStream layout) to fill
#                   from input device i0, i1 channels, f0 seconds, mask = block (0: any)
OP_CAPTURE_STOP = 14
OP_RENDER = 15    # blob: .atoms bytes; name: output segment (float32, RENDER_HDR + C * T);
#                   i0 sample rate, i1 samples (offline, in a low-priority thread)
RENDER_HDR = 4    # output header: [state (0 running, 1 done, -1 failed), fraction done, 0, 0]
OP_NAMES = {OP_LOAD: "load", OP_PLAY: "play", OP_PAUSE: "pause", OP_SEEK: "seek",
            OP_LOOP: "loop", OP_MACRO: "macro", OP_GROUP: "group", OP_ATOMS: "atoms",
            OP_EFFECTS: "effects", OP_DETACH: "detach", OP_SHUTDOWN: "shutdown",
            OP_STOP: "stop", OP_CAPTURE: "capture", OP_CAPTURE_STOP: "capture stop",
            OP_RENDER: "render"}

GROUP_GAIN, GROUP_PAN, GROUP_MUTE, GROUP_SOLO, GROUP_SEND = 1, 2, 4, 8, 16

# event kinds (server -> client)
EV_STATUS = 1
EV_ACK = 2
EV_ERROR = 3
EV_NOTICE = 4

SERVER_DTYPE = np.dtype([
    ("magic", "<i8"), ("version", "<i8"), ("pid", "<i8"), ("state", "<i8"),
    ("heartbeat", "<i8"), ("n_slots", "<i8"), ("sample_rate", "<i8"), ("block_size", "<i8"),
    ("channels", "<i8"), ("device_index", "<i8"), ("osc_port", "<i8"),
    ("osc_messages", "<i8"), ("osc_bad", "<i8"), ("latency_s", "<f8"),
    ("render_priority", "S48"), ("control_priority", "S48"), ("gc_mode", "S48"),
    ("device_name", "S96"),
    ("plugins", "S256"), ("last_plugin", "S256"), ("problem", "S256"),
    ("jack_name", "S64"),
])
SLOT_DTYPE = np.dtype([("state", "<i8"), ("pid", "<i8"), ("attached", "<i8"), ("pad", "<i8")])
CMD_DTYPE = np.dtype([
    ("op", "<i4"), ("seq", "<i4"), ("i0", "<i8"), ("i1", "<i8"), ("mask", "<i8"),
    ("f0", "<f8"), ("f1", "<f8"), ("f2", "<f8"), ("blob_size", "<i8"),
    ("name", "S48"), ("blob", "S64"),
])
EVT_DTYPE = np.dtype([
    ("kind", "<i4"), ("seq", "<i4"), ("position_s", "<f8"), ("playing", "<i4"),
    ("rendering", "<i4"), ("underflows", "<i8"), ("ring_misses", "<i8"),
    ("portaudio_underflows", "<i8"), ("callbacks", "<i8"), ("first_miss_callback", "<i8"),
    ("last_miss_callback", "<i8"), ("atoms_playing", "<i8"), ("edits_refused", "<i8"),
    ("cpu_load", "<f8"), ("cpu_load_peak", "<f8"), ("callback_load_peak", "<f8"),
    ("portaudio_cpu_load", "<f8"), ("latency_s", "<f8"), ("levels_db", "<f8", (MAX_LEVELS,)),
    ("n_levels", "<i4"), ("device_ok", "<i4"), ("text", "S240"),
])


def segment_name(server_name: str) -> str:
    """The shared-memory name of server ``server_name``'s segment."""
    return f"atomsynth-{server_name}"


def _slot_bytes() -> int:
    return SLOT_DTYPE.itemsize + ring_bytes(CMD_DTYPE, CMD_CAPACITY) + ring_bytes(
        EVT_DTYPE, EVT_CAPACITY)


def segment_bytes() -> int:
    """Size of a server's segment in bytes."""
    head = -(-SERVER_DTYPE.itemsize // 64) * 64
    return head + N_SLOTS * (-(-_slot_bytes() // 64) * 64)


class Segment:
    """Views of a server segment: the server record and the slots' records and rings.

    Parameters
    ----------
    shm : SharedMemory
    create : bool
        Initialize the rings (the server); False attaches (a client).
    """

    def __init__(self, shm: shared_memory.SharedMemory, *, create: bool) -> None:
        self.shm = shm
        buf = shm.buf
        self.server = np.ndarray((), SERVER_DTYPE, buffer=buf, offset=0)
        head = -(-SERVER_DTYPE.itemsize // 64) * 64
        step = -(-_slot_bytes() // 64) * 64
        self.heartbeat = np.ndarray((1,), np.int64, buffer=buf,
                                    offset=SERVER_DTYPE.fields["heartbeat"][1])
        self.slots: list[np.ndarray] = []
        self.slot_words: list[np.ndarray] = []  # fast int64 views: [state, pid]
        self.cmd: list[Ring] = []
        self.evt: list[Ring] = []
        for k in range(N_SLOTS):
            off = head + k * step
            self.slots.append(np.ndarray((), SLOT_DTYPE, buffer=buf, offset=off))
            self.slot_words.append(np.ndarray((2,), np.int64, buffer=buf, offset=off))
            off += SLOT_DTYPE.itemsize
            self.cmd.append(Ring(buf, off, CMD_DTYPE, CMD_CAPACITY if create else None))
            off += self.cmd[-1].nbytes
            self.evt.append(Ring(buf, off, EVT_DTYPE, EVT_CAPACITY if create else None))

    def release(self) -> None:
        """Drop every view (then the segment can be closed)."""
        for r in self.cmd + self.evt:
            r.release()
        self.server = None
        self.heartbeat = None
        self.slots = []
        self.slot_words = []
        self.cmd = []
        self.evt = []


def create_shared(name: str | None, size: int) -> shared_memory.SharedMemory:
    """A new segment (this process unlinks it: at close, or its resource tracker at exit)."""
    return shared_memory.SharedMemory(name=name, create=True, size=max(1, int(size)))


def attach_shared(name: str) -> shared_memory.SharedMemory:
    """Attach to another process's segment without taking over its clean-up (Python < 3.13
    registers attached segments with this process's resource tracker, which would unlink
    them when this process exits)."""
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    shm = shared_memory.SharedMemory(name=name)
    try:
        from multiprocessing import resource_tracker

        resource_tracker.unregister("/" + shm.name.lstrip("/"), "shared_memory")
    except Exception:  # noqa: BLE001 - clean-up bookkeeping only
        pass
    return shm


def text(value: bytes) -> str:
    """A fixed-size bytes field as text."""
    return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")


def put_text(field_size: int, value: str) -> bytes:
    """``value`` encoded to fit a fixed-size bytes field (cut at a character boundary)."""
    data = value.encode("utf-8")
    while len(data) > field_size:
        value = value[:-1]
        data = value.encode("utf-8")
    return data


__all__ = [name for name in dir() if name.isupper()] + [
    "Segment", "attach_shared", "create_shared", "put_text", "segment_bytes", "segment_name",
    "text"]
