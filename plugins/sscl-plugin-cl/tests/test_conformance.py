"""The cl plugin's components pass the core's conformance kit, with each pool under each replay method."""

import pytest
import torch

from sscl_core import MemoryPool, component, testing
from sscl_plugin_cl.class_balanced import ClassBalancedPool
from sscl_plugin_cl.der import DarkExperienceReplay, DarkExperienceReplayPlusPlus
from sscl_plugin_cl.er import ExperienceReplay
from sscl_plugin_cl.ewc_online import OnlineEWC
from sscl_plugin_cl.finetune import Finetune
from sscl_plugin_cl.pnn import ProgressiveNeuralNetworks
from sscl_plugin_cl.reservoir import ReservoirPool
from sscl_plugin_cl.si import SynapticIntelligence

POOLS = (ReservoirPool, ClassBalancedPool)


@pytest.mark.parametrize("method", [Finetune, SynapticIntelligence, OnlineEWC])
def test_method_conforms(method, tmp_path):
    testing.check_method(method, tmp_path)


@pytest.mark.parametrize("method", [ExperienceReplay, DarkExperienceReplay, DarkExperienceReplayPlusPlus])
@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p.name)
def test_replay_method_conforms_with_each_pool(method, pool, tmp_path):
    result = testing.check_method(method, tmp_path, extra=POOLS, overrides=[f"memory_pool.name={pool.name}"])
    assert result.metrics["memory"]["pool_samples"] > 0


def test_er_keeps_every_distinct_labeled_sample(tmp_path):
    result = testing.check_method(ExperienceReplay, tmp_path, extra=(ReservoirPool,))
    assert result.metrics["memory"]["pool_samples"] == 16


def test_pnn_conforms_on_task_il(tmp_path):
    testing.check_method(ProgressiveNeuralNetworks, tmp_path, overrides=["dataset.scenario=task-il"])


@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p.name)
def test_pool_conforms(pool):
    testing.check_memory_pool(pool)


@component
class ListPool(MemoryPool):
    """A third-party pool written against the core interface only: keeps the most recent samples."""

    name = "most-recent"

    def __attrs_post_init__(self):
        self.rows = []

    def __len__(self):
        return len(self.rows)

    def add(self, samples, generator):
        self.rows += [{k: v[i] for k, v in samples.items()} for i in range(len(samples["y"]))]
        self.rows = self.rows[-self.size :]

    def sample(self, n, generator):
        if not self.rows:
            return None
        chosen = torch.randperm(len(self.rows), generator=generator)[:n].tolist()
        return {k: torch.stack([self.rows[i][k] for i in chosen]) for k in self.rows[0]}

    def ram_bytes(self):
        return sum(v.numel() * v.element_size() for row in self.rows for v in row.values())

    def state_dict(self):
        return {"rows": list(self.rows)}

    def load_state_dict(self, state):
        self.rows = list(state["rows"])


@pytest.mark.parametrize("method", [ExperienceReplay, DarkExperienceReplay, DarkExperienceReplayPlusPlus])
def test_replay_methods_take_a_third_party_pool_from_the_config(method, tmp_path, keep_pool):
    KeepPool, pools = keep_pool

    registry = testing.make_registry(method, ListPool, KeepPool)
    overrides = ["memory_pool={name: most-recent, size: 10}", "callbacks=[keep-pool]"]
    testing.run_tiny(registry, tmp_path, method.name, overrides)
    (pool,) = pools
    assert isinstance(pool, ListPool) and len(pool) == 10
    assert ("logits" in pool.rows[0]) == (method is not ExperienceReplay)
