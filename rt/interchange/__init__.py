"""Atoms out to and in from other tools: SDIF (SPEAR, AudioSculpt, Max), MIDI, CSV and JSON.

:mod:`~atomsynth.rt.interchange.formats` chooses a format from a file name and dispatches;
each format lives in its own module. Nothing here imports torch or Qt.
"""
