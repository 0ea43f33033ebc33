"""Where document contents live: content-addressed (SHA-256), behind a small interface so
an object store can replace the filesystem."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class DocumentStore(Protocol):
    async def put(self, sha256: str, content: bytes) -> bool:
        """Store ``content`` under its hash; False when it was stored already."""
        ...

    async def get(self, sha256: str) -> bytes | None: ...

    async def delete(self, sha256: str) -> None: ...

    async def exists(self, sha256: str) -> bool: ...


def _valid_hash(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a lower-case hex SHA-256")
    return sha256


class FilesystemStore:
    """``<root>/ab/cd/abcd…`` per content; written to a temporary file and renamed, so a
    reader never sees half a document."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        digest = _valid_hash(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    def _put(self, sha256: str, content: bytes) -> bool:
        path = self.path_of(sha256)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return True

    async def put(self, sha256: str, content: bytes) -> bool:
        return await asyncio.to_thread(self._put, sha256, content)

    async def get(self, sha256: str) -> bytes | None:
        path = self.path_of(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.path_of(sha256).unlink)

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path_of(sha256).exists)
