"""The audio server (``atomsynth serve``) and its client; see ``docs/server.md``."""
