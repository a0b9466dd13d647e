"""The one exception type that reaches users as a single line."""


class SsclError(Exception):
    """A problem with user input (config, data, plugins, checkpoints): the CLI prints it as one line and exits with
    ``exit_code``."""

    exit_code: int = 2
    """The exit code of the ``sscl`` command that this error ends."""
