"""Files others read while the job writes them (outbox files, reports, scrubbed pages): written beside, then put
in place with one rename, so a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A file to write in `path`'s stead, put in its place once the block has written it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    yield partial
    os.replace(partial, path)
