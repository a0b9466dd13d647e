"""Every unlabeled loss of this plugin passes the core's conformance kit (trains, deterministic, resumes)."""

import pytest

from sscl_core import testing
from sscl_plugin_ssl.fixmatch import FixMatch
from sscl_plugin_ssl.flexmatch import FlexMatch
from sscl_plugin_ssl.mixmatch import MixMatch
from sscl_plugin_ssl.uda import UnsupervisedDataAugmentation


@pytest.mark.parametrize(
    ("loss", "settings"),
    [
        (FixMatch, ["unlabeled.threshold=0.5"]),
        (FlexMatch, []),
        (UnsupervisedDataAugmentation, ["unlabeled.tsa=linear", "unlabeled.confidence_threshold=0.3"]),
        (MixMatch, []),
    ],
    ids=lambda value: getattr(value, "name", None),
)
def test_conforms(tmp_path, loss, settings):
    testing.check_unlabeled_loss(loss, tmp_path, settings)
