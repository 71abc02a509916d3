"""``atomsynth examples``: list the bundled example atom sets, or rebuild them."""

from __future__ import annotations

from atomsynth.rt.atomfile import load
from atomsynth.rt.examples import DEFAULT_EXAMPLE, example_paths, examples_dir


def add_arguments(parser) -> None:
    parser.add_argument("--rebuild", action="store_true",
                        help="regenerate presets/examples from the resonance presets")


def run(args) -> int:
    if args.rebuild:
        from atomsynth.presets.make_examples import build

        build(examples_dir())
        return 0
    for path in example_paths():
        s = load(path)
        groups = ", ".join(s.group_name(int(g)) for g in s.groups)
        mark = " (default)" if path.stem == DEFAULT_EXAMPLE else ""
        print(f"{path.stem:<16} {s.length_s:6.1f} s  {s.n_atoms:>5} atoms  "
              f"{path.stat().st_size:>7} bytes  groups: {groups}{mark}")
    return 0
