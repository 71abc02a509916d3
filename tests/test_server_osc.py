"""OSC control of the audio server over real UDP on loopback (python-osc on both ends).

The server is a real ``atomsynth serve`` process playing into a dummy JACK server; the test
sends OSC datagrams from its own UDP socket and reads the server's replies on it.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from atomsynth.rt import AtomSet, ResonantAtoms
from atomsynth.rt.atomfile import save
from atomsynth.rt.server.client import ServerClient
from tests.support.jack_server import find_jack_device, jack_missing_reason, start_jack_dummy

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(jack_missing_reason() is not None, reason=str(jack_missing_reason())),
]


def _msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class Osc:
    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3.0)
        self.dest = ("127.0.0.1", port)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.dest)

    def ask(self, data: bytes) -> OscMessage:
        self.send(data)
        reply, _ = self.sock.recvfrom(65536)
        return OscMessage(reply)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with start_jack_dummy(sample_rate=48000, period=256) as jack:
        client = ServerClient.spawn(device=find_jack_device("output"), osc_port=0)
        try:
            yield jack, client, tmp_path_factory.mktemp("osc")
        finally:
            client.close(shutdown=True)


def test_osc_load_play_macro_status_round_trip(served):
    _, client, tmp = served
    rng = np.random.default_rng(3)
    n = 200
    res = ResonantAtoms(onset_s=np.sort(rng.uniform(0, 4.0, n)), f0_hz=rng.uniform(100, 900, n),
                        t60_s=1.0, n_modes=4, gain_db=-30.0)
    path = tmp / "set.atoms"
    save(AtomSet(sample_rate=48000, channels=2, resonant=res, duration_s=5.0), path)
    info = client.server_info()
    assert info["osc_port"] > 0
    osc = Osc(info["osc_port"])
    status = osc.ask(_msg("/atomsynth/status"))
    assert status.address == "/atomsynth/status"
    assert status.params == [0.0, 0, 0, 0]  # nothing loaded yet
    osc.send(_msg("/atomsynth/load", str(path)))
    osc.send(_msg("/atomsynth/macro", "pitch", 1.5))
    osc.send(_msg("/atomsynth/group", 0, "gain_db", -3.0))
    osc.send(_msg("/atomsynth/play"))
    deadline = time.monotonic() + 20.0
    while osc.ask(_msg("/atomsynth/status")).params[1] != 1:  # the stream opens (warm-up)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pos0 = osc.ask(_msg("/atomsynth/status")).params[0]
    t0 = time.monotonic()
    time.sleep(1.0)
    pos, playing, underflows, atoms = osc.ask(_msg("/atomsynth/status")).params
    elapsed = time.monotonic() - t0
    assert playing == 1
    # the transport runs at the speed of the clock (within two 256-frame blocks + the poll)
    assert abs((pos - pos0) - elapsed) < 0.05, (pos, pos0, elapsed)
    assert isinstance(underflows, int) and underflows >= 0
    assert atoms > 0
    osc.send(_msg("/atomsynth/pause"))
    osc.send(_msg("/atomsynth/seek", 3.0))
    time.sleep(0.3)
    pos, playing, _, _ = osc.ask(_msg("/atomsynth/status")).params
    # paused at the seek target (plus the few blocks of the fade-out rendered after it)
    assert playing == 0 and 3.0 <= pos < 3.2, pos
    assert client.server_info()["osc_bad"] == 0


@pytest.mark.parametrize("data, reason", [
    (b"\x00\x01garbage", "not an OSC message"),
    (_msg("/atomsynth/nope"), "unknown address"),
    (_msg("/atomsynth/seek", "soon"), "must be a number"),
    (_msg("/atomsynth/seek"), "takes 1 argument"),
    (_msg("/atomsynth/macro", "wobble", 1.0), "wobble"),
    (_msg("/atomsynth/macro", "pitch", 1000.0), "pitch"),
    (_msg("/atomsynth/group", 0, "colour", 1.0), "colour"),
    (_msg("/atomsynth/load", "/no/such/file.atoms"), "file.atoms"),
])
def test_osc_bad_messages_are_answered_and_counted(served, data, reason):
    _, client, _ = served
    osc = Osc(client.server_info()["osc_port"])
    before = client.server_info()["osc_bad"]
    reply = osc.ask(data)
    assert reply.address == "/atomsynth/error"
    assert reason in reply.params[0], reply.params
    assert client.server_info()["osc_bad"] == before + 1
    assert client.alive()
    assert osc.ask(_msg("/atomsynth/status")).address == "/atomsynth/status"  # still serving
