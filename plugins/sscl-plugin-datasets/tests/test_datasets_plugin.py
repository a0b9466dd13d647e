"""The plugin module registers every dataset, with documented hyperparameters."""

from __future__ import annotations

import pytest

from sscl_core import SsclError
from sscl_core.api.components import describe_fields
from sscl_core.plugins.registry import Registry, load_registry
from sscl_plugin_datasets import plugin

NAMES = {"digits", "fashion-mnist", "mnist", "cifar10", "cifar100", "tinyimagenet", "image-folder"}


def registry() -> Registry:
    found = Registry()
    plugin.register_datasets(register=lambda cls: found.add("dataset", cls, "sscl-plugin-datasets"))
    return found


def test_every_dataset_is_registered_through_the_entry_point():
    loaded = load_registry()
    assert NAMES <= set(loaded.names("dataset"))
    assert {loaded.distribution_of("dataset", name) for name in NAMES} == {"sscl-plugin-datasets"}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_fields_have_help_texts(name):
    fields = describe_fields(registry().get("dataset", name))
    names = {f["name"] for f in fields}
    assert {"scenario", "classes_per_task", "num_tasks", "class_order", "labels_per_class"} <= names
    assert {"unlabeled_per_class", "test_per_class"} <= names
    assert ("root" in names) == (name != "digits")
    assert all(f["help"] for f in fields)


def test_config_values_are_checked():
    found = registry()
    dataset = found.create("dataset", {"name": "digits", "class_order": [1, 0, 3, 2], "labels_per_class": 3})
    assert dataset.class_order == [1, 0, 3, 2]
    with pytest.raises(SsclError, match="dataset 'mnist': scenario must be one of task-il, class-il"):
        found.create("dataset", {"name": "mnist", "scenario": "domain-il"})
    with pytest.raises(SsclError, match="class_order names class 10, but cifar10 has classes 0..9"):
        found.create("dataset", {"name": "cifar10", "class_order": [10, 0]})
