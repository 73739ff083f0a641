"""Minified copies of the static scripts and stylesheets, made once per version of a file.

The readable sources stay in ``static/``; only what is served shrinks. ``app.py`` serves these
bytes for ``/static/*.js`` and ``*.css`` unless the app runs in debug mode.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import rcssmin
import rjsmin

MIMETYPES = {".js": "text/javascript", ".css": "text/css"}
_MINIFIERS = {".js": rjsmin.jsmin, ".css": rcssmin.cssmin}


class Minified(NamedTuple):
    body: bytes
    etag: str  # of the minified bytes: never the same as the source file's own ETag
    mtime: float  # of the source, for Last-Modified


def minifiable(path: str | os.PathLike) -> bool:
    """Whether a static file is one this module shrinks (scripts and stylesheets)."""
    return Path(path).suffix in _MINIFIERS


def minified(path: str | os.PathLike) -> Minified:
    """The minified bytes of a script or stylesheet, made again only when the file changes."""
    stat = os.stat(path)
    return _minify(os.fspath(path), stat.st_mtime_ns, stat.st_size)


# Keyed by the file's mtime and size, so an edited file is minified afresh and its old
# version ages out; the bound is a few times the number of files in static/.
@lru_cache(maxsize=128)
def _minify(path: str, mtime_ns: int, size: int) -> Minified:
    source = Path(path).read_bytes()
    body = _MINIFIERS[Path(path).suffix](source)
    return Minified(body, hashlib.sha256(body).hexdigest()[:32], mtime_ns / 1e9)
