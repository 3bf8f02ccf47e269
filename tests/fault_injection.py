"""Interrupt an update at each step of writing it, in tests only (no hook in the product).

Every call the store makes that changes the disk (and the ledger's begin and commit) is
wrapped. During an update, call number ``k`` is interrupted just before or just after it
runs: by ``KeyboardInterrupt`` (Ctrl-C) or by ``os._exit`` (a kill, in a subprocess).
"""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import forecast.store.results
import forecast.store.update
from forecast.store.ledger import Ledger

#: (owner, attribute): the steps an update takes on disk, in the modules that take them.
STEPS: list[tuple[Any, str]] = [
    (forecast.store.results, "_write_run"),
    (Ledger, "begin"),
    (os, "fsync"),
    (os, "link"),
    (pathlib.Path, "unlink"),
    (forecast.store.update, "load_spec"),
    (Ledger, "commit"),
    (os, "symlink"),
    (os, "replace"),
    (shutil, "rmtree"),
]


class Injector:
    """Counts steps; at step ``k`` (``when`` = before or after it) calls ``fault``."""

    def __init__(self, k: int | None, when: str, fault: Callable[[], None]):
        self.k, self.when, self.fault = k, when, fault
        self.count = 0
        self.armed = False
        self.fired: str | None = None

    def wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            if not self.armed or self.fired:
                return real(*args, **kwargs)
            self.count += 1
            hit = self.count == self.k
            if hit and self.when == "before":
                self.fired = f"before {name} #{self.count}"
                self.fault()
            out = real(*args, **kwargs)
            if hit and self.when == "after":
                self.fired = f"after {name} #{self.count}"
                self.fault()
            return out

        return step

    @contextmanager
    def installed(self) -> Iterator[Injector]:
        with ExitStack() as stack:
            for owner, attribute in STEPS:
                real = getattr(owner, attribute)
                wrapped = self.wrap(f"{getattr(owner, '__name__', owner)}.{attribute}", real)
                stack.enter_context(mock.patch.object(owner, attribute, wrapped))
            real_commit_update = forecast.store.update.commit_update

            def armed_commit_update(*args: Any, **kwargs: Any) -> Any:
                self.armed = True
                try:
                    return real_commit_update(*args, **kwargs)
                finally:
                    self.armed = False

            stack.enter_context(
                mock.patch.object(forecast.store.update, "commit_update", armed_commit_update)
            )
            yield self


def interrupt() -> None:
    raise KeyboardInterrupt


def kill() -> None:
    os._exit(137)
