"""Writing one file so that it is either absent, as it was, or complete: never half written."""

from __future__ import annotations

import os
from pathlib import Path

from forecast.spec.layout import temporary_name


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, flush it, and rename it over."""
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
