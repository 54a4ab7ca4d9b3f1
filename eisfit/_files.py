"""Writing files so that a failure never leaves half of one; telling a file from a pipe; names
that tell input files apart."""
from __future__ import annotations

import contextlib
import os
import re
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
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(exc, path) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temporary_beside(path: Path) -> tuple[int, str]:
    """(descriptor, name) of a new private temporary file beside ``path``."""
    try:
        return tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from exc


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` as an error of the same kind that names ``path``, the file being written,
    rather than its temporary name (a full disk's write error names no file at all)."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


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
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(exc, path) from exc
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


def distinct_names(paths) -> list[str]:
    """Per input file (in the order given), a name that tells it apart from every other
    input: what labels its spectra (``<name>#<sweep>``: the command line's inputs, the files
    of a campaign list) and names their output files (:func:`safe_name`).

    The file name where no other input has the same one (compared as output file names
    are: file-name-safe and case-insensitively, as macOS and Windows compare them); where
    several have, the shortest tail of their folders that tells them apart
    (``run1/cell.mpr``, ``run2/cell.mpr``); where they are in one folder (one file given
    twice, ``a b.csv`` and ``a_b.csv``), `` (2)``, `` (3)``... in the order given.
    Deterministic: the same inputs give the same names."""
    parts = [Path(os.path.normpath(os.path.abspath(p))).parts for p in paths]
    depth = [1] * len(parts)

    def name(i: int) -> str:
        return "/".join(parts[i][-depth[i]:])

    def clashes() -> list[list[int]]:
        groups: dict[str, list[int]] = {}
        for i in range(len(parts)):
            groups.setdefault(safe_name(name(i)).lower(), []).append(i)
        return [g for g in groups.values() if len(g) > 1]

    grew = True
    while grew:
        grew = False
        for group in clashes():
            if len({parts[i][:-1] for i in group}) == 1:  # one folder (a file given twice): no folder tells
                continue
            for i in group:
                if depth[i] < len(parts[i]) - 1:  # never the root ('/', 'C:\\')
                    depth[i] += 1
                    grew = True
    names = [name(i) for i in range(len(parts))]
    taken = {safe_name(n).lower() for n in names}
    for group in clashes():
        for k, i in enumerate(group[1:], start=2):
            while safe_name(f"{names[i]} ({k})").lower() in taken:
                k += 1
            names[i] = f"{names[i]} ({k})"
            taken.add(safe_name(names[i]).lower())
    return names


def safe_name(label: str) -> str:
    """A file-name-safe version of a spectrum label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "spectrum"
