"""One module per ``atomsynth`` subcommand: ``add_arguments(parser)`` and ``run(args)``."""
