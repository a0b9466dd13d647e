"""Split-semi task streams for sscl: the stream builder, batched augmentation and the dataset loaders."""

from sscl_plugin_datasets.augment import ImageTransforms
from sscl_plugin_datasets.split import RawData, SplitSemiDataset

__all__ = ["ImageTransforms", "RawData", "SplitSemiDataset"]
