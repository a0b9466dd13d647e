"""Shared fixtures of the core tests."""

import importlib
import subprocess
import sys
import textwrap

import pytest

from sscl_core import testing
from sscl_core.cli.testing import sscl  # noqa: F401  (the CLI fixture)


@pytest.fixture
def registry():
    """A registry with the conformance kit's synthetic dataset and tiny backbone only."""
    return testing.make_registry()


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
@pytest.fixture
def make_distribution(tmp_path, monkeypatch):
    """``make(dist, module, source, requires=())``: an installed distribution (dist-info with an ``sscl`` entry
    point and the given requirements) whose plugin module ``module`` has ``source``, in a folder put first on
    sys.path (select it with SSCL_LOAD_PLUGINS)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(dist, module, source, requires=()):
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        metadata = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n" + "".join(
            f"Requires-Dist: {r}\n" for r in requires
        )
        (info / "METADATA").write_text(metadata)
        (info / "entry_points.txt").write_text(f"[sscl]\nmain = {module}\n")
        importlib.invalidate_caches()

    return make
