"""Writing output files the user names without ever destroying what is there by accident."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from cmo_agent.core.errors import ConfigError


def write_text_file(path: Path, text: str, *, overwrite: bool) -> Path:
    """Write `text` to `path` atomically, as a regular file readable by its owner only.

    Refuses (ConfigError) a target that is anything but a regular file (a directory, a device, a
    symlink, a pipe), an existing file unless `overwrite`, and a missing parent directory. A failed
    write leaves no temporary file behind and the target as it was.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise ConfigError(f"{path} is a symbolic link; name a regular file")
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ConfigError(f"{path} is {kind}; name a regular file")
        if not overwrite:
            raise ConfigError(f"{path} exists; use --force to overwrite it")
    parent = path.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write {path}: no directory {parent}")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            tmp.replace(path)
        else:
            _link_new(tmp, path)
    except FileExistsError:
        raise ConfigError(f"{path} exists; use --force to overwrite it") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Give `tmp` the name `path` only if nothing has it (a hard link is atomic about that)."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if path.exists() or path.is_symlink():  # a file system without hard links: check, then rename
            raise FileExistsError(path) from None
        tmp.replace(path)
