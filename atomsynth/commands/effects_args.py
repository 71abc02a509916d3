"""Command-line options for the effects chain, shared by ``play`` and ``render``."""

from __future__ import annotations

import re

from atomsynth.rt.errors import EffectError, ParameterError


def add_effect_arguments(parser) -> None:
    g = parser.add_argument_group("effects (rooms and insert chain)")
    g.add_argument("--room-ir", action="append", default=[], metavar="NAME=FILE",
                   help="impulse response (WAV/FLAC) for room NAME; repeatable. Rooms are "
                        "otherwise found in $IMPULSE_RESPONSE_PATH, then presets/rooms/")
    g.add_argument("--effect", action="append", default=[], metavar="KIND[:P=V,...]",
                   help="append a pedalboard effect to the insert chain, e.g. "
                        "'reverb:room_size=0.8,wet_level=0.2' or 'compressor'; repeatable")
    g.add_argument("--plugin", action="append", default=[], metavar="PATH",
                   help="append a VST3 plugin to the insert chain; repeatable")
    g.add_argument("--plugin-param", action="append", default=[], metavar="[I:]NAME=VALUE",
                   help="set a parameter of plugin I (0-based, default the last --plugin) by "
                        "pedalboard's name, e.g. gain_db=-6 or 0:polarity=true; repeatable")
    g.add_argument("--dry", action="store_true", help="no rooms and no inserts")


def _kv(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise ParameterError(f"{what} {text!r} must look like NAME=VALUE")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def build_effects(args, atom_set, sample_rate: int, *, strict: bool = False):
    """The EffectsBridge described by the options.

    With ``strict`` (``render``: what the user asked for is done or the command fails) the
    first room, insert or plugin that cannot be loaded or set raises :class:`EffectError`;
    otherwise (``play``, the app) failures are listed in ``errors`` and playback goes on.
    """
    fx = _build_effects(args, atom_set, sample_rate)
    if strict and fx.errors:
        more = f" (and {len(fx.errors) - 1} more)" if len(fx.errors) > 1 else ""
        first = re.sub(r"; (skipped|its sends are dropped)$", "", fx.errors[0])
        raise EffectError(f"{first}{more}; nothing written (--dry renders without rooms and "
                          "inserts)")
    return fx


def _build_effects(args, atom_set, sample_rate: int):
    from atomsynth.rt.effects import EffectsBridge

    files = dict(_kv(x, "--room-ir") for x in args.room_ir)
    for name, path in files.items():
        if name not in atom_set.room_names:
            known = ", ".join(atom_set.room_names) or "none"
            raise ParameterError(f"--room-ir {name}={path}: the set has no room {name!r} "
                                 f"(its rooms: {known})")
    fx = EffectsBridge(sample_rate=sample_rate, channels=atom_set.channels,
                       room_names=() if args.dry else atom_set.room_names, room_files=files)
    if args.dry:
        return fx
    for spec in args.effect:
        kind, _, rest = spec.partition(":")
        params = {}
        for item in filter(None, rest.split(",")):
            k, v = _kv(item, "--effect parameter")
            try:
                params[k] = float(v)
            except ValueError:
                params[k] = v
        fx.add_effect(kind.strip(), **params)
    plugin_params: list[list[str]] = [[] for _ in args.plugin]
    for item in args.plugin_param:
        head, _, tail = item.partition(":")
        if tail and head.isdigit():
            which = int(head)
            if not 0 <= which < len(plugin_params):
                raise ParameterError(f"--plugin-param {item!r}: plugin index {which} is out of "
                                     f"range; allowed [0, {len(plugin_params) - 1}]")
            plugin_params[which].append(tail)
        elif plugin_params:
            plugin_params[-1].append(item)
        else:
            raise ParameterError("--plugin-param given without --plugin")
    for path, plist in zip(args.plugin, plugin_params, strict=True):
        fx.load_plugin(path, params=dict(_kv(item, "--plugin-param") for item in plist))
    return fx
