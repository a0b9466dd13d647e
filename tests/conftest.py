"""Shared fixtures of the core tests."""

import pytest

from sscl_core import testing


@pytest.fixture
def registry():
    """A registry with the conformance kit's synthetic dataset and tiny backbone only."""
    return testing.make_registry()
