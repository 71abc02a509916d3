"""Bundled data: resonance presets (``resonances/``), example atom sets (``examples/``) and
rooms (``rooms/``). Located at run time with :func:`atomsynth.rt.presets.data_dir`."""
