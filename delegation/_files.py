"""Reading and writing the key, registry and config files (glue, not API)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from ._jose import json_object
from .errors import DelegationError, FileError, MalformedError

__all__ = ["read_error", "read_json_object", "read_text", "write_json"]


def read_text(path: str | os.PathLike[str], *, what: str) -> str:
    """A file's text; a missing, unreadable or non-UTF-8 file is ``FileError``."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise FileError(f"{what} is not UTF-8 text: {path}") from None
    except OSError as exc:
        raise read_error(exc, path, what=what) from None


def read_error(exc: OSError, path: str | os.PathLike[str], *, what: str) -> FileError:
    """The ``FileError`` for a file that could not be opened or read: missing, a
    directory, or the system's reason."""
    if isinstance(exc, FileNotFoundError):
        return FileError(f"{what} not found: {path}")
    if isinstance(exc, IsADirectoryError):
        return FileError(f"{what} is a directory: {path}")
    return FileError(f"cannot read {what} {path}: {exc.strerror}")


def read_json_object(
    path: str | os.PathLike[str], *, what: str, error: type[DelegationError] = FileError
) -> dict[str, Any]:
    """A JSON object from a file; bad JSON raises ``error`` naming the file."""
    text = read_text(path, what=what)
    try:
        return json_object(text.encode("utf-8"), what=f"{what} {path}")
    except MalformedError as exc:
        raise error(str(exc)) from None


def write_json(path: str | os.PathLike[str], value: object, *, private: bool = False) -> None:
    """Write ``value`` atomically; 0600 from the start when ``private``.

    The temporary file has an unpredictable name in the target's directory and is
    created with ``O_EXCL | O_NOFOLLOW`` (a file or symlink planted in advance is never
    opened), written, fsynced and renamed over the target. A target that is a symlink is
    refused (``file_error``) rather than replaced or written through.
    """
    data = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    target = Path(path)
    if target.is_symlink():
        raise FileError(f"cannot write {target}: it is a symlink (refusing to write through it)")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    mode = 0o600 if private else 0o644
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(16)}.tmp")
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as exc:
        raise FileError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if private:
                os.fchmod(fh.fileno(), mode)  # the umask may only narrow it; keep it exact
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FileError(f"cannot write {target}: {exc.strerror}") from None
