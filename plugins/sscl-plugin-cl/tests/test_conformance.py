"""The cl plugin's components pass the core's conformance kit."""

from sscl_core import testing
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.reservoir import ReservoirPool


def test_finetune_conforms(tmp_path):
    testing.check_method(Finetune, tmp_path)


def test_er_conforms(tmp_path):
    result = testing.check_method(ExperienceReplay, tmp_path, extra=(ReservoirPool,))
    assert result.metrics["memory"]["pool_samples"] == 16


def test_reservoir_conforms():
    testing.check_memory_pool(ReservoirPool)
