"""Shared fixtures of the core tests."""

import subprocess
import sys

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


@pytest.fixture(scope="session")
def install_package(tmp_path_factory):
    """Install a package folder (its own pyproject; as a wheel, not editable) into a private folder, once per
    session; return the folder, for PYTHONPATH or sys.path."""
    sites = {}

    def install(package):
        if package not in sites:
            target = tmp_path_factory.mktemp("site")
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target"]
                + [target, package],
                check=True,
                capture_output=True,
            )
            sites[package] = target
        return sites[package]

    return install
