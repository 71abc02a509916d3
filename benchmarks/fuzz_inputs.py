"""Fuzz campaign (issue 16): the ``.atoms`` loader, the compact MDCT decoder and the command line.

Hypothesis generates the cases (no shrinking: every case is run once and its outcome counted).

* loader: valid files of both modes, mutated three ways: raw bytes (flips, truncation,
  insertion), header values re-packed with valid checksums, and the compact MDCT bitstream's
  header entry and payload. A case passes when the loader raises ``AtomFileError`` or returns a
  set that ``info`` can describe and that saves (exact, and compact for every 16th) and loads
  back. Anything else is a crash.
* decoder: ``decode_mdct`` on mutated stream tables, counts, quantization and payloads (valid
  checksum): ``AtomFileError`` or atoms.
* cli: argv drawn from every subcommand's options with hostile values (nan, inf, -1, 0, 1e9,
  paths that are folders, missing, /dev/zero, random bytes); every argv is parsed; ``info``,
  ``presets`` and ``render`` are run to the end in one case of four. A case passes when
  ``main`` returns 0, 1 or 2 and no line says "internal error".

The byte-level targets run each drawn mutation at ``BATCH`` offsets, so cases outnumber
Hypothesis examples there.

A case taking more than ``--hang-s`` of CPU time counts as a hang (CPU, not wall time: at
``nice -n 19`` on a loaded machine wall time measures the neighbours). Crashes are written to
``--out`` (bytes and argv) so they can become regression tests. Prints cases, crashes, hangs,
the slowest case and the peak RSS, with machine and load.

Run: ``nice -n 19 python3 benchmarks/fuzz_inputs.py --cases 100000 --minutes 40``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import struct
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atomsynth.cli import build_parser, main  # noqa: E402
from atomsynth.commands.info import describe  # noqa: E402
from atomsynth.rt import AtomSet, ResonantAtoms  # noqa: E402
from atomsynth.rt.atomfile import MAGIC, VERSION, from_bytes, to_bytes  # noqa: E402
from atomsynth.rt.atoms import MdctAtoms  # noqa: E402
from atomsynth.rt.errors import AtomFileError  # noqa: E402
from atomsynth.rt.mdct_codec import decode_mdct, encode_mdct  # noqa: E402
from atomsynth.rt.presets import available_presets, load_mode_table  # noqa: E402

BATCH = 16
"""Variants run per Hypothesis example in the byte-level targets (amortizes generation)."""


class Tally:
    def __init__(self, name: str, out: Path, hang_s: float) -> None:
        self.name, self.out, self.hang_s = name, out, hang_s
        self.cases = self.accepted = self.crashes = self.hangs = 0
        self.slowest = 0.0
        self.kinds: dict[str, int] = {}

    def run(self, fn, payload) -> None:
        self.cases += 1
        if self.cases % 5000 == 0:
            print(f"  {self.line()}", flush=True)
        t0 = time.process_time()  # CPU time: at nice 19 wall time measures the neighbours
        try:
            if fn():
                self.accepted += 1
        except Exception as exc:  # noqa: BLE001 - a crash: recorded, the campaign goes on
            self.crashes += 1
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            self.kinds[key] = self.kinds.get(key, 0) + 1
            if self.kinds[key] <= 3:
                stem = self.out / f"{self.name}-crash-{self.crashes}"
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                stem.with_suffix(".bin").write_bytes(data)
                stem.with_suffix(".txt").write_text(traceback.format_exc())
        dt = time.process_time() - t0
        self.slowest = max(self.slowest, dt)
        if dt > self.hang_s:
            self.hangs += 1
            (self.out / f"{self.name}-hang-{self.hangs}.bin").write_bytes(
                payload if isinstance(payload, bytes) else json.dumps(payload).encode())

    def line(self) -> str:
        return (f"{self.name:<8} cases {self.cases:>7}  accepted {self.accepted:>6}  crashes "
                f"{self.crashes}  hangs {self.hangs}  slowest {self.slowest * 1000:.1f} ms CPU"
                + (f"  kinds {self.kinds}" if self.kinds else ""))


# ---------------------------------------------------------------------------------- seeds
def seed_sets() -> list[AtomSet]:
    rng = np.random.default_rng(16)
    tables = tuple(load_mode_table(p) for p in list(available_presets().values())[:2])
    res = ResonantAtoms(onset_s=rng.uniform(0, 2, 12), f0_hz=rng.uniform(50, 4000, 12),
                        t60_s=rng.uniform(0.05, 2, 12), gain_db=rng.uniform(-40, 0, 12),
                        preset=rng.integers(-1, 2, 12), room=rng.integers(-1, 1, 12),
                        wet=0.3, group=rng.integers(0, 3, 12), seed=np.arange(12))
    n = 40
    md = MdctAtoms(n, scale=rng.choice([256, 2048], n), frame=rng.integers(0, 30, n),
                   bin=rng.integers(0, 128, n), channel=rng.integers(0, 2, n),
                   value=rng.standard_normal(n), group=rng.integers(0, 2, n))
    return [
        AtomSet(sample_rate=22050, channels=2, resonant=res, mode_tables=tables,
                room_names=("hall",), group_names=("a", "b", "c"), provenance={"tool": "fuzz"}),
        AtomSet(sample_rate=48000, channels=2, mdct=md, duration_s=1.0),
        AtomSet(sample_rate=22050, channels=2, resonant=res.select(slice(0, 4)), mdct=md,
                mode_tables=tables, room_names=("hall",)),
    ]


def _pack(header: dict, blobs: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    head = zlib.compress(text)
    return struct.pack("<8sHHIII", MAGIC, *VERSION, len(head), len(text),
                       zlib.crc32(text)) + head + blobs


def _split(data: bytes) -> tuple[dict, bytes]:
    hclen = struct.unpack_from("<I", data, 12)[0]
    return json.loads(zlib.decompress(data[24 : 24 + hclen])), data[24 + hclen :]


# -------------------------------------------------------------------------------- targets
def loader_check(data: bytes, n: int) -> bool:
    try:
        s = from_bytes(data)
    except AtomFileError:
        return False
    json.dumps(describe(s), ensure_ascii=False).encode("utf-8")
    assert from_bytes(to_bytes(s)) == s
    if n % 16 == 0:
        from_bytes(to_bytes(s, compact=True))
    return True


HOSTILE_JSON = st.one_of(
    st.none(), st.booleans(), st.integers(-2**64, 2**64),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, 1e308, 1e400, -0.0, 5e-324, "",
                     "\ud800", "x" * 300, [], {}, [[0, 0, 1, 0, 2**31 - 1, 0]]]),
    st.floats(allow_nan=False), st.text(max_size=8))


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:8]):
            yield from _paths(v, prefix + (i,))


def _set_path(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def run_cli_case(argv: list[str]) -> bool:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    text = err.getvalue()
    if code not in (0, 1, 2) or "internal error" in text or "Traceback" in text:
        raise AssertionError(f"exit {code}: {text.strip()[-300:]}")
    return code == 0


def main_campaign() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=100_000, help="total cases (all targets)")
    ap.add_argument("--minutes", type=float, default=40.0, help="stop after this long")
    ap.add_argument("--hang-s", type=float, default=2.0)
    ap.add_argument("--out", default="benchmarks/fuzz_out")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    until = [0.0]  # the running target's deadline: its share of --minutes
    seeds = [to_bytes(s, compact=c) for s in seed_sets() for c in (False, True)]
    tallies = {k: Tally(k, out, args.hang_s) for k in ("bytes", "header", "decoder", "cli")}
    share = {"bytes": 0.3, "header": 0.3, "decoder": 0.25, "cli": 0.15}
    cfg = dict(deadline=None, database=None, phases=[Phase.generate],
               suppress_health_check=list(HealthCheck))
    t_start = time.perf_counter()

    def budget(name):
        return max(1, int(args.cases * share[name]))

    # -- raw bytes
    @settings(max_examples=max(1, budget("bytes") // BATCH), **cfg)
    @given(st.integers(0, len(seeds) - 1),
           st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6),
           st.one_of(st.none(), st.integers(0, 1 << 20)), st.binary(max_size=16))
    def fuzz_bytes(i, flips, cut, insert):
        if time.monotonic() > until[0]:
            return
        for shift in range(BATCH):  # the drawn mutation, applied at BATCH offsets
            data = bytearray(seeds[(i + shift) % len(seeds)])
            for pos, val in flips:
                data[(pos + shift * 7919) % len(data)] = val
            if cut is not None:
                data = data[: (cut + shift * 104729) % (len(data) + 1)]
            if insert:
                p = (len(insert) + shift) * 7919 % (len(data) + 1)
                data[p:p] = insert
            b = bytes(data)
            tallies["bytes"].run(lambda b=b: loader_check(b, tallies["bytes"].cases), b)

    # -- header values with valid checksums
    heads = [_split(s) for s in seeds]

    @settings(max_examples=budget("header"), **cfg)
    @given(st.integers(0, len(seeds) - 1), st.data())
    def fuzz_header(i, data):
        if time.monotonic() > until[0]:
            return
        h, blobs = json.loads(json.dumps(heads[i][0])), heads[i][1]
        paths = [p for p in _paths(h) if p]
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(paths))
            try:
                _set_path(h, path, data.draw(HOSTILE_JSON))
            except (KeyError, IndexError, TypeError):
                pass
        try:
            b = _pack(h, blobs)
        except (ValueError, UnicodeEncodeError):
            return
        tallies["header"].run(lambda: loader_check(b, tallies["header"].cases), b)

    # -- compact decoder
    rng = np.random.default_rng(7)
    n = 60
    atoms = MdctAtoms(n, scale=rng.choice([128, 1024, 8192], n), frame=rng.integers(0, 50, n),
                      bin=rng.integers(0, 60, n), channel=rng.integers(0, 2, n),
                      value=rng.standard_normal(n), group=0)
    meta0, payload0, _ = encode_mdct(atoms)

    @settings(max_examples=budget("decoder"), **cfg)
    @given(st.data())
    def fuzz_decoder(data):
        if time.monotonic() > until[0]:
            return
        meta = json.loads(json.dumps(meta0))
        payload = bytearray(payload0)
        what = data.draw(st.sampled_from(["stream", "count", "quant", "payload", "random"]))
        if what == "stream" and meta["streams"]:
            r = data.draw(st.integers(0, len(meta["streams"]) - 1))
            c = data.draw(st.integers(0, 5))
            meta["streams"][r][c] = data.draw(st.one_of(
                st.integers(-2, 2**31), st.sampled_from([0, 1, 4095, 2**31 - 1])))
        elif what == "count":
            meta["count"] = data.draw(st.integers(0, 10**7))
        elif what == "quant":
            k = data.draw(st.sampled_from(["n_levels", "range_db", "ref", "order", "coding"]))
            meta[k] = data.draw(HOSTILE_JSON)
        elif what == "payload":
            flips = data.draw(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)),
                                       min_size=1, max_size=8))
            for shift in range(BATCH):  # the drawn flips at BATCH offsets
                pl = bytearray(payload0)
                for pos, val in flips:
                    pl[(pos + shift * 131) % len(pl)] = val
                m = dict(meta, crc32=zlib.crc32(bytes(pl)))

                def one(m=m, pl=bytes(pl)):
                    try:
                        decode_mdct(m, pl, count=n, sample_rate=48000)
                    except AtomFileError:
                        return False
                    return True

                tallies["decoder"].run(one, {"meta": m, "payload": bytes(pl).hex()})
            return
        else:
            payload = bytearray(data.draw(st.binary(max_size=4096)))
        meta["crc32"] = zlib.crc32(bytes(payload))
        count = meta["count"] if isinstance(meta.get("count"), int) else n

        def check():
            try:
                decode_mdct(meta, bytes(payload), count=count, sample_rate=48000)
            except AtomFileError:
                return False
            return True

        tallies["decoder"].run(check, {"meta": meta, "payload": bytes(payload).hex()})

    # -- command line
    tmp = Path(tempfile.mkdtemp(prefix="fuzzcli"))
    good = tmp / "g.atoms"
    good.write_bytes(to_bytes(AtomSet(sample_rate=8000, channels=1, resonant=ResonantAtoms(
        onset_s=[0.0], f0_hz=[300.0], t60_s=0.05), duration_s=0.05)))
    junk = tmp / "junk.bin"
    junk.write_bytes(os.urandom(512))
    values = ["nan", "inf", "-inf", "-1", "0", "1", "1e9", "1e308", "", "x", "0x10", "4096",
              "PCM_16", "FLOAT", "bogus", "reverb:room_size=2", "lowpass:cutoff_frequency_hz=-5",
              "gain:gain_db=1e308", "hall=" + str(junk), "0-99999999999", "99999",
              str(tmp), str(tmp / "missing"), "/dev/zero", str(junk), str(good),
              str(tmp / "o.wav"), str(tmp / "o.flac"), str(tmp / "o.atoms")]
    parser = build_parser()
    options: dict[str, list[str]] = {}
    for name, sub in parser._subparsers._group_actions[0].choices.items():  # noqa: SLF001
        options[name] = [o for a in sub._actions for o in a.option_strings  # noqa: SLF001
                         if o not in ("-h", "--help")]
    run_full = {"info", "presets", "render"}

    @settings(max_examples=budget("cli"), **cfg)
    @given(st.sampled_from(sorted(options)), st.data())
    def fuzz_cli(cmd, data):
        if time.monotonic() > until[0]:
            return
        argv = [cmd]
        if cmd == "presets":
            argv += data.draw(st.sampled_from([[], ["list"], ["show", "gong"], ["show", "x"],
                                               ["apply", "gong", str(good)]]))
        elif data.draw(st.booleans()):
            argv.append(data.draw(st.sampled_from(values)))
        for _ in range(data.draw(st.integers(0, 4))):
            opts = options[cmd] or ["--x"]
            argv.append(data.draw(st.sampled_from(opts)))
            if data.draw(st.integers(0, 3)):
                argv.append(data.draw(st.sampled_from(values)))
        if cmd == "render":
            argv += ["--quiet", "-o", str(tmp / "r.wav")] if "-o" not in argv else ["--quiet"]
        if cmd in run_full and "--stream" not in argv and data.draw(st.integers(0, 3)) == 0:
            tallies["cli"].run(lambda: run_cli_case(argv), argv)
        else:
            def parse_only():
                with contextlib.redirect_stderr(io.StringIO()), \
                        contextlib.redirect_stdout(io.StringIO()):
                    try:
                        parser.parse_args(argv)
                    except SystemExit as e:
                        if e.code not in (0, 2):
                            raise AssertionError(f"parser exit {e.code}") from None
                        return False
                return True

            tallies["cli"].run(parse_only, argv)

    for fn in (fuzz_bytes, fuzz_header, fuzz_decoder, fuzz_cli):
        until[0] = time.monotonic() + args.minutes * 60 * share[fn.__name__.split("_")[1]]
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - Hypothesis itself (e.g. a flaky replay at
            # the time limit); the target's tally so far stands
            print(f"  {fn.__name__} stopped by {type(exc).__name__}", flush=True)
        print(tallies[fn.__name__.split("_")[1]].line(), flush=True)
    total = sum(t.cases for t in tallies.values())
    crashes = sum(t.crashes for t in tallies.values())
    hangs = sum(t.hangs for t in tallies.values())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total: {total} cases, {crashes} crashes, {hangs} hangs (> {args.hang_s} s), "
          f"peak RSS {rss_mb:.0f} MB, {time.perf_counter() - t_start:.0f} s")
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs; load "
          f"{os.getloadavg()}; command: {' '.join(sys.argv)}")


if __name__ == "__main__":
    main_campaign()
