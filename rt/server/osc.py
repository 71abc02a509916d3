"""Open Sound Control on UDP for the audio server (``atomsynth serve --osc-port N``).

The socket listens on loopback by default (``--osc-host`` widens it) and is polled by the
server's control thread, so an OSC message is one more command record: it goes through the
same validation and the same hand-over to the render thread as a client's command. The address
space (``docs/server.md``):

==========================  =====================================================
``/atomsynth/load s``       load an ``.atoms`` file (path on the server's machine)
``/atomsynth/play``         start the transport
``/atomsynth/pause``        pause (fade out)
``/atomsynth/stop``         pause and return to 0
``/atomsynth/seek f``       move to ``f`` seconds
``/atomsynth/macro s f``    set macro ``s`` (pitch, decay, brightness, master_gain_db,
                            time_stretch) to ``f``
``/atomsynth/group i s f``  set ``s`` (gain_db, pan, mute, solo, room_send) of group ``i``
``/atomsynth/status``       reply to the sender: ``/atomsynth/status f i i i`` = position
                            in seconds, playing (0/1), underflows, atoms playing
==========================  =====================================================

A message that cannot be carried out (unknown address, wrong argument types, a value out of
range, a file that does not load, a datagram that is not OSC) is counted and answered to its
sender with ``/atomsynth/error s`` (the reason); it is never fatal.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from atomsynth.rt.errors import AtomsynthError
from atomsynth.rt.server import protocol as Q

MAX_DATAGRAM = 65536
MAX_PER_POLL = 64
GROUP_FIELDS = {"gain_db": (Q.GROUP_GAIN, "f0"), "pan": (Q.GROUP_PAN, "f1"),
                "room_send": (Q.GROUP_SEND, "f2"), "mute": (Q.GROUP_MUTE, None),
                "solo": (Q.GROUP_SOLO, None)}


class OscControl:
    """The server's OSC endpoint (see the module).

    Parameters
    ----------
    server : AudioServer
        Whose :meth:`handle` carries the commands out.
    host : str
        Address to listen on (default loopback).
    port : int
        UDP port; 0 picks a free one (see ``port``).
    """

    def __init__(self, server: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, int(port)))
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.messages = 0
        self.bad_messages = 0

    def close(self) -> None:
        self.sock.close()

    def poll(self) -> None:
        """Handle the datagrams waiting (at most :data:`MAX_PER_POLL`); never raises."""
        for _ in range(MAX_PER_POLL):
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._datagram(data, addr)

    def _datagram(self, data: bytes, addr) -> None:
        try:
            if OscBundle.dgram_is_bundle(data):
                msgs = list(_bundle_messages(OscBundle(data)))
            else:
                msgs = [OscMessage(data)]
        except Exception as exc:  # noqa: BLE001 - pythonosc raises several parse errors
            self.bad_messages += 1
            self._publish_counts()
            self._reply(addr, "/atomsynth/error", [f"not an OSC message ({exc})"])
            return
        for msg in msgs:
            self.messages += 1
            try:
                self._message(msg.address, list(msg.params), addr)
            except (AtomsynthError, ValueError, TypeError, OSError) as exc:
                self.bad_messages += 1
                self._publish_counts()  # before the reply: a client that got it sees the count
                self._reply(addr, "/atomsynth/error", [f"{msg.address}: {exc}"])
        self._publish_counts()

    def _publish_counts(self) -> None:
        """The message counters, in the server's shared status record."""
        self.server.seg.server["osc_messages"] = self.messages
        self.server.seg.server["osc_bad"] = self.bad_messages

    def _message(self, address: str, args: list, addr) -> None:
        srv = self.server
        if address == "/atomsynth/status":
            _expect(address, args, "")
            core = srv.core
            st = core.stats() if core is not None else {}
            self._reply(addr, "/atomsynth/status", [
                float(st.get("position_s", 0.0)), int(bool(core is not None and core.playing)),
                int(st.get("underflows", 0)), int(st.get("atoms_playing", 0))])
            return
        if address == "/atomsynth/load":
            _expect(address, args, "s")
            from atomsynth.rt.atomfile import load

            srv.load(load(args[0]))
            return
        simple = {"/atomsynth/play": Q.OP_PLAY, "/atomsynth/pause": Q.OP_PAUSE,
                  "/atomsynth/stop": Q.OP_STOP}
        cmd = np.zeros((), Q.CMD_DTYPE)
        if address in simple:
            _expect(address, args, "")
            cmd["op"] = simple[address]
        elif address == "/atomsynth/seek":
            _expect(address, args, "f")
            cmd["op"], cmd["f0"] = Q.OP_SEEK, float(args[0])
        elif address == "/atomsynth/macro":
            _expect(address, args, "sf")
            cmd["op"], cmd["name"], cmd["f0"] = Q.OP_MACRO, Q.put_text(48, args[0]), args[1]
        elif address == "/atomsynth/group":
            _expect(address, args, "isf")
            field = str(args[1])
            if field not in GROUP_FIELDS:
                raise ValueError(f"group field {field!r} is unknown; known: "
                                 f"{sorted(GROUP_FIELDS)}")
            bit, slot = GROUP_FIELDS[field]
            cmd["op"], cmd["i0"], cmd["mask"] = Q.OP_GROUP, int(args[0]), bit
            if slot is None:
                cmd["i1"] = (1 if bit == Q.GROUP_MUTE else 2) if float(args[2]) >= 0.5 else 0
            else:
                cmd[slot] = float(args[2])
        else:
            raise ValueError("unknown address; known: /atomsynth/load, play, pause, stop, "
                             "seek, macro, group, status")
        err = srv.handle(cmd)
        if err:
            raise ValueError(err)

    def _reply(self, addr, address: str, args: list) -> None:
        b = OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(a)
        try:
            self.sock.sendto(b.build().dgram, addr)
        except OSError:
            pass  # the sender is gone; nothing to tell


def _expect(address: str, args: list, types: str) -> None:
    """Check the argument count and kinds (``s`` text, ``f`` number, ``i`` integer; OSC
    senders often send ints for floats and floats for ints, both are taken)."""
    if len(args) != len(types):
        raise ValueError(f"takes {len(types)} argument(s) ({types or 'none'}), got {len(args)}")
    for k, (a, t) in enumerate(zip(args, types)):
        if t == "s" and not isinstance(a, str):
            raise ValueError(f"argument {k + 1} must be a string, got {type(a).__name__}")
        if t in "fi" and (isinstance(a, bool) or not isinstance(a, (int, float))):
            raise ValueError(f"argument {k + 1} must be a number, got {type(a).__name__}")
        if t == "i" and float(a) != int(a):
            raise ValueError(f"argument {k + 1} must be an integer, got {a}")


def _bundle_messages(bundle):
    for item in bundle:
        if hasattr(item, "address"):
            yield item
        else:
            yield from _bundle_messages(item)


__all__ = ["OscControl"]
