"""The one exception type that reaches users as a single line."""


class SsclError(Exception):
    """A problem with user input (config, data, plugins, checkpoints).

    The CLI prints its message on one line to stderr and exits with code 2; the message says what is wrong
    and how to fix it. A subclass may end the CLI with another code (``exit_code``).
    """

    exit_code: int = 2
    """The exit code of the ``sscl`` command that this error ends."""
