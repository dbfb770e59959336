"""Download and cache dataset files, verified by git-blob SHA-1 and size.

Files live under ``$TFREC_HOME/datasets/<dataset>/`` (``TFREC_HOME`` defaults to
``~/.cache/tfrec``). Every download goes to a temporary ``<name>.part-<random>`` file in the same
folder and is moved into place with :func:`os.replace` only after its size and checksum check out,
so a partial, interrupted or corrupt download is never left where a later run would trust it.

Checksums are *git blob* SHA-1s (what ``git hash-object FILE`` prints), because that is what the
dataset sources record. A registry entry may leave the checksum (``sha1``) or the size unknown
(``None``); then only what is known is checked. A zip archive itself is never checksummed: the
members extracted from it are, where their checksums are known.

This module only needs the standard library and tqdm; it never imports TensorFlow.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import secrets
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tfrec.errors import DataError, UserError

if TYPE_CHECKING:  # pragma: no cover
    from tfrec.data.registry import DatasetSpec, RemoteFile

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0
_STALE_PART_S = 24 * 3600
# local disk problems, reported as such rather than as "offline"
_DISK_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT, errno.EEXIST}


# --------------------------------------------------------------------------------------------
# Cache location and checksums
# --------------------------------------------------------------------------------------------
def cache_root() -> Path:
    """The tfrec cache root: ``$TFREC_HOME`` if set, else ``~/.cache/tfrec``.

    Returns:
        The (not necessarily existing) cache root folder.
    """
    home = os.environ.get("TFREC_HOME")
    return Path(home).expanduser() if home else Path("~/.cache/tfrec").expanduser()


def dataset_dir(name: str) -> Path:
    """The cache folder of one dataset, ``<cache_root()>/datasets/<name>``.

    Args:
        name: dataset name (registry key).

    Returns:
        The (not necessarily existing) folder.
    """
    return cache_root() / "datasets" / name


def git_blob_sha1(path: str | Path) -> str:
    """The git blob SHA-1 of a file, as ``git hash-object FILE`` prints it.

    That is ``sha1(b"blob <size>\\0" + content)``; the file is read in chunks.

    Args:
        path: the file.

    Returns:
        40 lowercase hex digits.

    Raises:
        OSError: the file cannot be read.
    """
    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, *, sha1: str | None, size: int | None) -> str | None:
    """Check a file's size and git-blob SHA-1 against the expected values.

    Args:
        path: the file to check.
        sha1: expected git blob SHA-1, or ``None`` if unknown (not checked).
        size: expected size in bytes, or ``None`` if unknown (not checked).

    Returns:
        ``None`` if the file matches (or nothing is known to check), else a short description of
        the mismatch (expected vs actual), for an error message.
    """
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"expected {size:,} bytes, got {actual_size:,}"
    if sha1 is not None:
        actual = git_blob_sha1(path)
        if actual != sha1.lower():
            return f"expected git-blob sha1 {sha1.lower()}, got {actual}"
    return None


def _temp_path(dest: Path) -> Path:
    return dest.with_name(f"{dest.name}.part-{secrets.token_hex(6)}")


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _offline_hint(url: str, dest_name: str, dataset: str | None, local_hint: str | None, reason: str) -> str:
    what = f"{dest_name} for dataset {dataset!r}" if dataset else dest_name
    holding = local_hint or dest_name
    return (
        f"could not download {what} from {url} ({reason}); you appear to be offline: download it "
        f"yourself and pass --data-dir DIR (a folder holding {holding})"
    )


# --------------------------------------------------------------------------------------------
# Single-file download
# --------------------------------------------------------------------------------------------
def fetch(
    url: str,
    dest: Path,
    *,
    sha1: str | None,
    size: int | None,
    progress: bool = True,
    dataset: str | None = None,
    local_hint: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying size and git-blob SHA-1.

    The data is streamed to ``dest.name + ".part-<random>"`` in the same folder (created if
    needed), checked, then moved into place with :func:`os.replace`. On any failure, including
    ``KeyboardInterrupt``, the temporary file is removed and ``dest`` is left untouched.

    Args:
        url: an ``http(s)://``, ``ftp://`` or ``file://`` URL.
        dest: where the file should end up.
        sha1: expected git blob SHA-1 of the content, or ``None`` if unknown (not checked).
        size: expected size in bytes, or ``None`` if unknown (then the server's Content-Length,
            if any, is still checked, to catch truncated transfers).
        progress: show a tqdm progress bar on stderr.
        dataset: dataset name, used in error messages only.
        local_hint: what a ``--data-dir`` folder should hold (default ``dest.name``), used in the
            offline error message only.

    Returns:
        ``dest``.

    Raises:
        DataError: the download failed (network error, HTTP error, truncated transfer) or the
            content does not match the expected size or checksum. The message names the file and
            URL, and for network failures says to pass ``--data-dir``.
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(dest)
    try:
        try:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
                header = response.headers.get("Content-Length") if response.headers else None
                announced = int(header) if header and header.isdigit() else None
                received = 0
                with tmp.open("xb") as out, tqdm(
                    total=size or announced,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    file=sys.stderr,
                    disable=not progress,
                    leave=False,
                ) as bar:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except urllib.error.HTTPError as e:
            raise DataError(
                f"could not download {dest.name}"
                + (f" for dataset {dataset!r}" if dataset else "")
                + f" from {url} (HTTP {e.code} {e.reason}); download it yourself and pass "
                f"--data-dir DIR (a folder holding {local_hint or dest.name})"
            ) from None
        except urllib.error.URLError as e:
            raise DataError(_offline_hint(url, dest.name, dataset, local_hint, str(e.reason))) from None
        except (socket.timeout, TimeoutError) as e:
            raise DataError(_offline_hint(url, dest.name, dataset, local_hint, f"timed out: {e}")) from None
        except http.client.HTTPException as e:  # e.g. IncompleteRead, a malformed response
            raise DataError(
                f"download of {dest.name} from {url} failed ({type(e).__name__}: {e}); run again, "
                f"or download it yourself and pass --data-dir DIR (a folder holding {local_hint or dest.name})"
            ) from None
        except OSError as e:
            if e.errno in _DISK_ERRNOS:
                raise DataError(f"could not write {tmp} while downloading {url}: {e}") from None
            raise DataError(_offline_hint(url, dest.name, dataset, local_hint, str(e) or type(e).__name__)) from None
        if announced is not None and received != announced:
            raise DataError(
                f"download of {dest.name} from {url} was cut short: got {received:,} of "
                f"{announced:,} bytes; run again, or download it yourself and pass --data-dir"
            )
        mismatch = verify_file(tmp, sha1=sha1, size=size)
        if mismatch is not None:
            raise DataError(
                f"downloaded {dest.name}" + (f" for dataset {dataset!r}" if dataset else "")
                + f" from {url} fails verification: {mismatch}; the file was not kept"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        _unlink(tmp)


# --------------------------------------------------------------------------------------------
# Zip archives
# --------------------------------------------------------------------------------------------
def _zip_name(url: str) -> str:
    name = Path(urlparse(url).path).name
    return name or "archive.zip"


def _extract_member(zip_path: Path, remote: RemoteFile, dest: Path) -> str | None:
    """Extract one member atomically and verify it; returns a mismatch description or None."""
    tmp = _temp_path(dest)
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf, zf.open(remote.member) as src, tmp.open("xb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
        except KeyError:
            return f"archive {zip_path.name} has no member {remote.member}"
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            return f"archive {zip_path.name} is damaged ({e})"
        mismatch = verify_file(tmp, sha1=remote.sha1, size=remote.size)
        if mismatch is not None:
            return f"member {remote.member} of {zip_path.name}: {mismatch}"
        os.replace(tmp, dest)
        return None
    finally:
        _unlink(tmp)


def _ensure_zip_members(
    url: str, members: list[RemoteFile], folder: Path, *, dataset: str, local_hint: str, progress: bool
) -> None:
    """Download the zip at ``url`` (if not cached) and extract + verify ``members`` from it.

    A cached zip whose members fail is deleted and downloaded once more; a freshly downloaded zip
    whose members fail raises DataError.
    """
    zip_path = folder / _zip_name(url)
    fresh = False
    for attempt in range(2):
        if not zip_path.exists():
            fetch(url, zip_path, sha1=None, size=None, progress=progress, dataset=dataset, local_hint=local_hint)
            fresh = True
        problems = [p for m in members if (p := _extract_member(zip_path, m, folder / m.name)) is not None]
        if not problems:
            return
        _unlink(zip_path)
        if fresh or attempt == 1:
            raise DataError(
                f"dataset {dataset!r}: the archive downloaded from {url} fails verification: "
                + "; ".join(problems)
                + "; it was not kept. Download it yourself and pass --data-dir DIR "
                f"(a folder holding {local_hint})"
            )


# --------------------------------------------------------------------------------------------
# Whole datasets
# --------------------------------------------------------------------------------------------
def describe_required(required: Iterable[str]) -> str:
    """Human-readable list of required files; ``"a|b"`` entries mean "a or b".

    Args:
        required: file names, each possibly ``|``-separated alternatives.

    Returns:
        E.g. ``"ratings.dat (or ratings.csv), movies.dat"``.
    """
    parts = []
    for group in required:
        first, *others = group.split("|")
        parts.append(first + (f" (or {', '.join(others)})" if others else ""))
    return ", ".join(parts)


def _check_local(spec: DatasetSpec, data_dir: Path) -> Path:
    if not data_dir.exists():
        raise DataError(f"--data-dir {data_dir} does not exist (dataset {spec.name!r})")
    if data_dir.is_file():
        if spec.user_data:
            return data_dir
        raise DataError(
            f"--data-dir {data_dir} is a file; dataset {spec.name!r} needs a folder holding "
            f"{describe_required(spec.required)}"
        )
    for group in spec.required:
        names = group.split("|")
        if not any((data_dir / n).is_file() for n in names):
            want = " or ".join(names)
            raise DataError(
                f"dataset {spec.name!r}: {want} not found in --data-dir {data_dir}; expected a "
                f"folder holding {describe_required(spec.required)}"
            )
    return data_dir


def _remove_stale_parts(folder: Path) -> None:
    """Delete ``*.part-*`` leftovers of downloads killed hard (older than a day)."""
    now = time.time()
    for part in folder.glob("*.part-*"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_S:
                part.unlink()
        except OSError:
            pass


def ensure_files(spec: DatasetSpec, data_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Make a dataset's files available locally and return where they are.

    With ``data_dir``, the user's own files are used: the folder must exist and hold the
    spec's required files (``"a|b"`` means either); nothing is downloaded or checksummed. For a
    dataset of user-provided data (``spec.user_data``) ``data_dir`` may also be a single file.

    Without ``data_dir``, the cache folder ``$TFREC_HOME/datasets/<name>`` is used: each remote
    file that is missing or fails verification (size / git-blob SHA-1 where known) is deleted and
    downloaded again; zip members are extracted from the (cached) archive.

    Args:
        spec: the dataset's registry entry.
        data_dir: a local folder (or file, for user data) to use instead of the cache.
        progress: show download progress bars on stderr.

    Returns:
        The folder (or file) holding the dataset's files.

    Raises:
        DataError: a required local file is missing, or a download failed or fails verification.
        UserError: the dataset has no files to fetch and none were given.
    """
    if data_dir is not None:
        return _check_local(spec, Path(data_dir).expanduser())
    if spec.user_data:
        raise UserError(
            f"dataset {spec.name!r} reads your own data: pass --data-dir PATH "
            f"({spec.notes or 'a file or folder with your data'})"
        )
    if not spec.files:
        raise UserError(f"dataset {spec.name!r} is generated on the fly; it has no files to download")

    folder = dataset_dir(spec.name)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(folder)
    hint = describe_required(spec.required) or ", ".join(f.name for f in spec.files)

    archives: dict[str, list[RemoteFile]] = {}
    for remote in spec.files:
        target = folder / remote.name
        if target.exists():
            if verify_file(target, sha1=remote.sha1, size=remote.size) is None:
                continue
            _unlink(target)  # corrupt or outdated: fetch again
        if remote.member:
            archives.setdefault(remote.url, []).append(remote)
        else:
            fetch(
                remote.url, target, sha1=remote.sha1, size=remote.size, progress=progress,
                dataset=spec.name, local_hint=hint,
            )
    for url, members in archives.items():
        _ensure_zip_members(url, members, folder, dataset=spec.name, local_hint=hint, progress=progress)
    return folder
