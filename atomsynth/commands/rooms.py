"""``atomsynth rooms [--rebuild]``: list room impulse responses, or regenerate the bundled ones."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--rebuild", action="store_true",
                        help="regenerate presets/rooms/*.flac from the room models")
    parser.add_argument("--sample-rate", type=int, default=48000,
                        help="rate of regenerated rooms (48000)")


def run(args) -> int:
    from atomsynth.rt.rooms import ROOMS, available_rooms, write_bundled_rooms

    if args.rebuild:
        for p in write_bundled_rooms(sample_rate=args.sample_rate):
            print(f"wrote {p}")
    for name, path in available_rooms().items():
        desc = ROOMS[name].description if name in ROOMS and "presets" in str(path) else ""
        print(f"{name:12s} {path}" + (f"  ({desc})" if desc else ""))
    return 0
