"""Semi-supervised unlabeled losses for sscl, composable with any continual-learning method."""
