"""Helpers that several plugins share (slot storage, pseudo-labels, ...), built on the API only."""
