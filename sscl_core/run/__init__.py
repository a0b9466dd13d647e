"""One run: resolving its components, the training loop and its collaborators (sampling, checkpoints and
resume, the run directory, events, signals, metrics, active learning)."""
