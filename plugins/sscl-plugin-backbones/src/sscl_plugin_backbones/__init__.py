"""Backbones for sscl: feature extractors mapping images (N, C, H, W) to features (N, out_features)."""

from sscl_plugin_backbones.cost import cost

__all__ = ["cost"]
