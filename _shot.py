import sys, argparse
from atomsynth.commands import gui
p = argparse.ArgumentParser(); gui.add_arguments(p)
sys.exit(gui.run(p.parse_args(sys.argv[1:])))
