"""Writing a file so that a reader never sees half of it and a rewrite never makes a second."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_once(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it exists; False if it already did.

    The bytes go to a temporary file in the same folder, are flushed to disk, and the file is
    then renamed into place: a rename within a folder is atomic, so a crash leaves either no
    file or the whole one (the leftover ``.tmp`` is harmless), and a concurrent second writer
    of the same message replaces it with the same message instead of adding another file.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
