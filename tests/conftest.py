"""Shared fixtures of the core tests."""

import pytest

from sscl_core import cli, testing


@pytest.fixture
def registry():
    """A registry with the conformance kit's synthetic dataset and tiny backbone only."""
    return testing.make_registry()


@pytest.fixture
def sscl(tmp_path, monkeypatch, capsys):
    """Run the CLI in-process in an empty folder; return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
