"""Progress listeners: long steps tell one, in a few words, what they are doing.

The library never prints; the command line passes a listener that writes to stderr.
"""

from __future__ import annotations

from collections.abc import Callable

#: A progress listener: called with a short message at the start of each long step.
Progress = Callable[[str], None]


def silent(message: str) -> None:
    """The listener used when nobody listens."""
