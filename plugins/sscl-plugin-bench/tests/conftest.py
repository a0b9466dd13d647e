"""Fixtures of the bench's tests."""

from sscl_core.cli.testing import sscl  # noqa: F401  (the CLI fixture)
