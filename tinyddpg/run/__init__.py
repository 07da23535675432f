"""Running the engine: the training loop, its command line, checkpoints, logs, plots, sweeps and environments.

Nothing in the engine (the modules one folder up) imports from here; this package builds on the engine.
"""
