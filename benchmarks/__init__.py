"""Benchmarks: scripts that print figures. Run from the repository root as
``python3 -m benchmarks.<name>`` so that this checkout's atomsynth is imported."""
