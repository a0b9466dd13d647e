"""Developer sessions; each installs the core and the first-party plugins into its own virtualenv."""

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (core, plugins, integration)."""
    session.install("-r", "requirements-test.txt")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the core, the plugins and the tests."""
    session.install("ruff")
    session.run("ruff", "check", "sscl_core", "plugins", "tests", "docs/examples")


@nox.session
def demo(session: nox.Session) -> None:
    """The default run: `sscl run` on the embedded digits stream."""
    session.install("-r", "requirements.txt")
    session.run("sscl", "run", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """A benchmark protocol (default fmnist-5, every method, seeds 0-2): `nox -s bench -- digits-5 --jobs 2`."""
    session.install("-r", "requirements.txt")
    session.run("sscl", "bench", *(session.posargs or ["fmnist-5", "--jobs", "2"]))
