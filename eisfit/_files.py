"""Writing files so that a failure never leaves half of one; telling a file from a pipe."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[IO[str]]:
    """A text file (UTF-8, newlines as written) that replaces ``path`` when the block ends
    without an error: written to a temporary file beside it, then renamed over it; on any
    error the temporary file is removed and ``path`` stays as it was. The file gets the
    permissions any new file gets (0666 less the umask; the temporary file is private)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it and setting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) for a writer that takes a file name
    (``savefig``, ``to_parquet``): renamed over ``path`` when the block ends without an
    error, removed on any error (a full disk leaves no zero-byte or cut-off file). The file
    gets the permissions any new file gets."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def special_file_kind(path: Path) -> str:
    """What ``path`` is when it is neither a regular file nor a folder (``a named pipe``, ``a
    device``, ``a socket``), else "" (OSError when it cannot be looked at): reading a named
    pipe blocks until something writes to it, for ever in a campaign or ``eisfit info``."""
    import stat

    mode = os.stat(path).st_mode
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return ""
