"""Loading keys from settings, a key file, or (development only) a generated file."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import tempfile
from pathlib import Path

from pydantic import SecretStr

log = logging.getLogger(__name__)


class KeyInvalid(ValueError):
    """A configured key cannot be read; the message names the setting, never the key."""


def key_bytes(value: SecretStr | None, file: Path | None, *, setting: str, dev_file: Path, size: int) -> tuple[bytes, bool]:
    """The key as raw bytes and whether it is a generated development key.

    Order: the setting (base64), the key file (raw bytes or base64 text), else a
    development key created once in ``dev_file``."""
    if value is not None:
        return _decoded(value.get_secret_value().encode(), setting), False
    if file is not None:
        raw = file.read_bytes()
        return (raw if len(raw) == size else _decoded(raw.strip(), setting)), False
    if not dev_file.exists():
        _create_once(dev_file, base64.b64encode(os.urandom(size)))
    log.warning("%s is not set: using the DEVELOPMENT key in %s (never in production)", setting, dev_file)
    return _decoded(dev_file.read_bytes().strip(), setting), True


def _create_once(path: Path, content: bytes) -> None:
    """Write ``path`` whole or not at all: processes started together may race to make
    the same development key, and each must read the one that won, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(tmp, path)  # atomic, and fails if another process made it first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _decoded(text: bytes, setting: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyInvalid(f"{setting} is not valid base64") from None
