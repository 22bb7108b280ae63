"""Fetching and unpacking dataset archives without ever leaving half a dataset behind.

The rule: nothing appears under its final name until it is complete and
verified.  An archive is downloaded into a temporary directory inside the
dataset root (same filesystem, so a rename is atomic), its MD5 checked, then
extracted there, and only then is the extracted folder renamed into place.
Any failure, an interrupt included, deletes the temporary directory.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from typing import Any

from minitorch.data.dataset import DatasetError

_CHUNK = 1 << 20


def default_root() -> str:
    """Where datasets live: ``$MINITORCH_DATA``, else ``~/.cache/minitorch``."""
    return os.path.expanduser(os.environ.get("MINITORCH_DATA") or os.path.join("~", ".cache", "minitorch"))


def file_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_url(url: str, path: str, md5: str | None = None, progress: bool = True,
                 timeout: float = 60.0) -> str:
    """Download ``url`` to ``path`` (showing progress) and check its MD5; returns ``path``.

    The caller should pick a ``path`` in a temporary directory: on a mismatch
    or a short read the file is deleted and :class:`DatasetError` raised.
    """
    name = os.path.basename(path)
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(path, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with _progress_bar(total, f"downloading {name}", progress) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise DatasetError(f"{name}: download from {url} stopped after {received} of {total} bytes")
        actual = digest.hexdigest()
        if md5 is not None and actual != md5.lower():
            raise DatasetError(f"{name}: MD5 mismatch for the file downloaded from {url}: "
                               f"expected {md5}, got {actual} (corrupt or wrong file; nothing was kept)")
    except (OSError, http.client.HTTPException) as exc:  # network failures, incl. a cut connection
        _remove(path)
        raise DatasetError(f"{name}: download from {url} failed after {received} bytes "
                           f"({type(exc).__name__}: {exc})") from exc
    except BaseException:
        _remove(path)
        raise
    return path


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def _safe_members(tar: tarfile.TarFile, archive: str) -> list[tarfile.TarInfo]:
    """Refuse archives that would write outside the target or create links/devices."""
    members = tar.getmembers()
    for m in members:
        parts = m.name.replace("\\", "/").split("/")
        if m.name.startswith(("/", "\\")) or ".." in parts or not (m.isfile() or m.isdir()):
            raise DatasetError(f"{archive}: refusing to extract unsafe member {m.name!r}")
    return members


def install_archive(
    url: str,
    root: str,
    filename: str,
    md5: str | None,
    folder: str,
    check: Callable[[str], None] | None = None,
    progress: bool = True,
) -> str:
    """Download the tar archive at ``url`` and install its top folder ``folder`` as ``root/folder``.

    ``check(extracted_dir)`` may raise to veto the install (e.g. a required file
    is missing).  Returns the final path.  If another process installed the
    folder meanwhile, its copy is kept and ours discarded.
    """
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, folder)
    tmp = tempfile.mkdtemp(prefix=f".{folder}.download-", dir=root)
    try:
        archive = download_url(url, os.path.join(tmp, filename), md5=md5, progress=progress)
        extract_dir = os.path.join(tmp, "extract")
        os.mkdir(extract_dir)
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(extract_dir, members=_safe_members(tar, filename), filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DatasetError(f"{filename}: cannot extract the archive ({exc})") from exc
        staged = os.path.join(extract_dir, folder)
        if not os.path.isdir(staged):
            raise DatasetError(f"{filename}: the archive has no top-level folder {folder!r}")
        if check is not None:
            check(staged)
        try:
            os.rename(staged, final)  # atomic: the dataset appears complete or not at all
        except OSError:
            if not os.path.isdir(final):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


class _NoBar:
    """What a progress bar is asked to do, done by nothing (no progress wanted, or tqdm not installed)."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress_bar(total: int | None, desc: str, wanted: bool) -> Any:
    """A tqdm bar where tqdm is installed (an extra of hw5's, not a requirement of minitorch)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not wanted)
