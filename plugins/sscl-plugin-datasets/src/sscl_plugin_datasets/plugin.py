"""Registers this distribution's datasets with sscl."""

from __future__ import annotations

from sscl_core import hookimpl
from sscl_core.api.hookspecs import Register
from sscl_plugin_datasets.cifar import Cifar10, Cifar100
from sscl_plugin_datasets.digits import Digits
from sscl_plugin_datasets.image_folder import ImageFolder
from sscl_plugin_datasets.mnist import FashionMnist, Mnist
from sscl_plugin_datasets.tinyimagenet import TinyImageNet

DATASETS = (Digits, FashionMnist, Mnist, Cifar10, Cifar100, TinyImageNet, ImageFolder)
"""Every dataset component of this distribution."""


@hookimpl
def register_datasets(register: Register) -> None:
    """Every dataset of :data:`DATASETS`."""
    for dataset in DATASETS:
        register(dataset)
