"""Fixtures of the deploy plugin's tests."""

import pytest

from sscl_core import cli


@pytest.fixture
def sscl(tmp_path, monkeypatch, capsys):
    """Run the CLI in-process in an empty folder; return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*argv):
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
