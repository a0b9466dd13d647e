"""What a run shows while it trains: a progress bar over its iterations and lines above it."""

import sys
from collections.abc import Callable

from tqdm import tqdm


class Console:
    """Echoes lines, above a progress bar of the run's iterations when one is shown (``progress_bar``)."""

    def __init__(self, echo: Callable[[str], None] | None = None, progress_bar: bool = False) -> None:
        self.echo = echo or (lambda _line: None)
        self.progress_bar = progress_bar
        self._bar: tqdm | None = None

    def open_bar(self, total: int, initial: int) -> tqdm:
        """Start the bar at ``initial`` of ``total`` iterations (a disabled one without ``progress_bar``)."""
        self._bar = tqdm(
            total=total,
            initial=initial,
            unit="it",
            disable=None if self.progress_bar else True,
            leave=False,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        return self._bar

    def advance(self) -> None:
        """One iteration done."""
        if self._bar is not None:
            self._bar.update()

    def say(self, line: str) -> None:
        """Echo a line above the progress bar (or plainly, without one)."""
        if self._bar is not None and not self._bar.disable:
            self._bar.write(line)
        else:
            self.echo(line)
