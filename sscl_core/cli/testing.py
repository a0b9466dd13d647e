"""A pytest fixture for plugin authors' tests: the ``sscl`` command line, run in-process (``from
sscl_core.cli.testing import sscl`` in a conftest.py; ``sscl("run", "--set", "seed=1")`` -> (code, stdout, stderr))."""

from collections.abc import Callable

import pytest

from sscl_core import cli


@pytest.fixture
def sscl(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process in an empty folder (the test's ``tmp_path``); return (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
