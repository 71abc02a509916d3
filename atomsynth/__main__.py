"""``python -m atomsynth`` runs the command-line interface."""

from atomsynth.cli import main

raise SystemExit(main())
