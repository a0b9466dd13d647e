"""Backbones for sscl: feature extractors mapping images (N, C, H, W) to features (N, out_features).

Their cost (parameters, multiply-accumulates) is measured by the core: ``sscl_core.cost.model_cost``.
"""
