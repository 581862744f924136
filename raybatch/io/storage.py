"""Storage through fsspec: local paths and any URL (s3://, gs://, memory://, file://).

ffmpeg reads and writes local files only, so remote media is staged: inputs are downloaded once
per node into a scratch cache, outputs are produced locally and committed. Every commit is
atomic, so a crash never leaves a truncated file under a final name: on local disks (and stores
without atomic objects) the data goes to a temporary name beside the target and is moved into
place; on object stores an upload becomes visible only once it completes (a PUT, or a multipart
upload's completion), so the data goes straight to its final key, once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import posixpath
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import fsspec
from fsspec.implementations.local import LocalFileSystem

from raybatch.errors import StorageError
from raybatch.io.names import printable

T = TypeVar("T")

TEMP_MARKER = ".part-"

#: Storage option names whose values are secrets: never written to a report or a log.
SECRET_OPTION = re.compile(r"(secret|password|token|credential|private|(^|_)key$)", re.IGNORECASE)
#: What a redacted secret reads as.
REDACTED = "***"


def get_fs(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and the protocol-less path for ``uri``."""
    fs, path = fsspec.core.url_to_fs(uri)
    return fs, path


def configure_storage(options: dict[str, dict[str, Any]] | None) -> None:
    """Default options per protocol (``{"s3": {"endpoint_url": ...}}``) for every filesystem this
    process opens from now on. Each worker applies the run's options before touching storage:
    a remote node has none of the driver's configuration."""
    for protocol, settings in (options or {}).items():
        if fsspec.config.conf.get(protocol) != settings:
            fsspec.config.conf[protocol] = dict(settings)


def redact_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with every secret value replaced, at any depth."""
    redacted: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, dict):
            redacted[name] = redact_options(value)
        elif SECRET_OPTION.search(name) and value:
            redacted[name] = REDACTED
        else:
            redacted[name] = value
    return redacted


#: Credentials inside a URL (``scheme://user:password@host``) or a query (``?token=...``).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:[\w-]*(?:signature|token|secret|password|credential)[\w-]*|key))=[^&\s\"']+",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """``text`` (a command line, a URL) with URL credentials and secret-looking query values
    replaced: what an error record may show anyone reading the output."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['name']}={REDACTED}", text)


def without_redacted(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` minus the values :func:`redact_options` hid (a resumed job takes its
    secrets from the environment again)."""
    kept: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, dict):
            kept[name] = without_redacted(value)
        elif value != REDACTED:
            kept[name] = value
    return kept


def _bucket_of(uri: str) -> str:
    protocol, rest = uri.split("://", 1)
    return f"{protocol}://{rest.split('/', 1)[0]}"


#: Packages whose exceptions are storage failures too (cloud SDKs raise their own types for, say,
#: missing credentials, instead of an OSError).
_STORAGE_SDKS = frozenset({"botocore", "aiobotocore", "google", "azure", "gcsfs", "adlfs"})


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` came from reaching storage (I/O, network, a cloud SDK), as opposed to a
    programming error that should surface as such."""
    return isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in _STORAGE_SDKS


def explain_storage_error(uri: str, exc: BaseException, *, writing: bool = False) -> StorageError:
    """A clear error for a storage failure at ``uri``: what is wrong and how to fix it. The
    message never contains credentials (the services' own messages do not carry them)."""
    remote = "://" in uri and not is_local(uri)
    reason = str(exc).strip() or type(exc).__name__
    if isinstance(exc, PermissionError) or "Credentials" in type(exc).__name__:
        fix = (
            "check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the node's "
            "instance role, or `storage.options` in the config) and that they may "
            + ("write to" if writing else "read")
            + " this location"
            if remote
            else "check the folder's permissions"
        )
        return StorageError(f"{uri}: access denied ({reason}); {fix}")
    if isinstance(exc, FileNotFoundError) and remote and "bucket" in reason.lower():
        bucket = _bucket_of(uri)
        return StorageError(
            f"{uri}: the bucket {bucket} does not exist; create it or correct the URL "
            "(for an S3-compatible service, set AWS_ENDPOINT_URL or storage.options.s3.endpoint_url)"
        )
    if isinstance(exc, FileNotFoundError):
        return StorageError(f"{uri}: no such file or folder; check the path or URL")
    return StorageError(f"{uri}: storage error: {reason}; check the URL, the network and the credentials")


def check_output_location(uri: str, probe_uri: str) -> None:
    """Fail early, with a clear error, when the output location ``uri`` cannot be written: a
    missing bucket or refused credentials would otherwise surface only after the work was done.
    ``probe_uri`` (inside it) is written and removed."""
    if is_local(uri):
        probe = local_path(probe_uri)
        try:
            os.makedirs(os.path.dirname(probe), exist_ok=True)
            with open(probe, "wb"):
                pass
            os.remove(probe)
        except OSError as exc:
            raise StorageError(
                f"{uri}: cannot write the output folder there ({exc.strerror or exc})",
                hint="give --output a folder you can write (it is created if missing)",
            ) from None
        return
    fs, probe = get_fs(probe_uri)
    try:
        fs.pipe_file(probe, b"")
        fs.rm(probe)
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise explain_storage_error(uri, exc, writing=True) from None


def is_local(uri: str) -> bool:
    """Whether ``uri`` is on this machine's filesystem (plain path or file://)."""
    fs, _ = get_fs(uri)
    return isinstance(fs, LocalFileSystem)


def local_path(uri: str) -> str:
    """The absolute local path of a local ``uri``."""
    fs, path = get_fs(uri)
    if not isinstance(fs, LocalFileSystem):
        raise AssertionError(f"{uri} is not a local path")
    return os.path.abspath(path)


def join(base: str, *parts: str) -> str:
    """Join path parts onto a path or URL without disturbing its protocol."""
    if "://" in base:
        protocol, rest = base.split("://", 1)
        return f"{protocol}://{posixpath.join(rest, *parts)}"
    return os.path.join(base, *parts)


def normalise_root(uri: str) -> str:
    """A stable form of a root location: absolute for local paths, unchanged URLs otherwise."""
    if is_local(uri):
        return local_path(uri)
    return uri.rstrip("/")


def _temp_name(uri: str) -> str:
    head, tail = ([*uri.rsplit("/", 1), ""])[:2] if "/" in uri else ("", uri)
    name = f".{tail}{TEMP_MARKER}{uuid.uuid4().hex[:12]}"
    return f"{head}/{name}" if head else name


#: errno values of a storage hiccup worth another try (a dropped connection, a throttled or
#: busy service); anything else (no space, no permission, no such bucket) fails at once.
TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.ETIMEDOUT, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.EBUSY}
)


def is_transient(exc: BaseException) -> bool:
    """Whether a storage error is a hiccup rather than a verdict."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def with_retries(action: Callable[[], T], *, attempts: int = 4, first_delay_s: float = 0.5) -> T:
    """``action()``, tried again with exponential backoff after a transient storage error."""
    for attempt in range(attempts):
        try:
            return action()
        except OSError as exc:
            if attempt == attempts - 1 or not is_transient(exc):
                raise
            time.sleep(first_delay_s * 2**attempt)
    raise AssertionError("unreachable")


def commit_file(local_source: str, uri: str) -> None:
    """Move (local) or upload (remote) a finished local file to ``uri`` atomically."""
    fs, path = get_fs(uri)
    if isinstance(fs, LocalFileSystem):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        target = os.path.abspath(path)
        temp = _temp_name(target)
        shutil.copyfile(local_source, temp) if _cross_device(local_source, target) else os.replace(
            local_source, temp
        )
        os.replace(temp, target)
        return
    _into_place(fs, path, lambda temp: fs.put_file(local_source, temp))


#: Stores whose objects appear whole or not at all (S3 and S3-compatible services, GCS, Azure
#: blobs, fsspec's in-memory store). A killed S3 multipart upload stays invisible; a bucket
#: lifecycle rule (AbortIncompleteMultipartUpload) reclaims its parts.
WHOLE_OBJECT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "az", "abfss", "memory"})


def writes_whole_objects(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether a write to ``fs`` is never visible half-done (no temporary name needed)."""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return bool(WHOLE_OBJECT_PROTOCOLS.intersection(protocols))


def _into_place(fs: fsspec.AbstractFileSystem, path: str, write: Callable[[str], Any]) -> None:
    """``write(path)`` on a store of whole objects; elsewhere ``write(temp)`` to a temporary
    name beside ``path`` and a move there, the temporary name never outliving a failure. Each
    step is retried on hiccups."""
    if writes_whole_objects(fs):
        with_retries(lambda: write(path))
        return
    temp = _temp_name(path)
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    try:
        with_retries(lambda: write(temp))
        with_retries(lambda: fs.mv(temp, path))
    finally:
        with contextlib.suppress(FileNotFoundError, OSError):
            if fs.exists(temp):
                fs.rm(temp)


def copy_file_atomic(local_source: str, uri: str) -> None:
    """Copy a local file to ``uri`` atomically, keeping the source (unlike :func:`commit_file`)."""
    fs, path = get_fs(uri)
    if isinstance(fs, LocalFileSystem):
        _local_into_place(path, lambda temp: shutil.copyfile(local_source, temp))
        return
    _into_place(fs, path, lambda temp: fs.put_file(local_source, temp))


def _local_into_place(path: str, write: Callable[[str], Any]) -> None:
    """``write(temp)`` to a temporary name beside the local ``path``, then a rename onto it;
    the temporary name never outlives a failure."""
    target = os.path.abspath(path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temp = _temp_name(target)
    try:
        write(temp)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)


def _cross_device(source: str, target: str) -> bool:
    try:
        return os.stat(source).st_dev != os.stat(os.path.dirname(target)).st_dev
    except OSError:
        return True


def publish_file(source_uri: str, target_uri: str) -> None:
    """Move a finished file from the work folder to its published name atomically: a rename on
    local storage, a server-side copy on object stores."""
    fs, source = get_fs(source_uri)
    target_fs, target = get_fs(target_uri)
    if isinstance(fs, LocalFileSystem) and isinstance(target_fs, LocalFileSystem):
        commit_file(os.path.abspath(source), target_uri)
        return
    _into_place(target_fs, target, lambda temp: target_fs.copy(source, temp))
    with contextlib.suppress(FileNotFoundError):
        fs.rm(source)


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write ``data`` to ``uri`` so readers see either nothing or all of it."""
    fs, path = get_fs(uri)
    if isinstance(fs, LocalFileSystem):

        def write(temp: str) -> None:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())

        _local_into_place(path, write)
        return
    _into_place(fs, path, lambda temp: fs.pipe_file(temp, data))


def write_json_atomic(uri: str, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON, atomically."""
    write_bytes_atomic(uri, (json_text(payload) + "\n").encode("utf-8"))


def json_text(payload: Any, indent: int | None = 2) -> str:
    """``payload`` as JSON that every reader accepts: an infinite or undefined number (the
    loudness of silence, a measurement that failed) is written as ``null``, never as
    ``Infinity`` or ``NaN``. A file name that is not UTF-8 (Python holds its bytes as lone
    surrogates) is written as a ``\\udcXX`` escape, which reads back to the same bytes."""
    text = json.dumps(_finite(payload), indent=indent, ensure_ascii=False, default=str, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(_finite(payload), indent=indent, ensure_ascii=True, default=str, allow_nan=False)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def read_json(uri: str) -> Any:
    """Read a JSON document from ``uri``."""
    fs, path = get_fs(uri)
    with fs.open(path, "rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def read_bytes(uri: str) -> bytes:
    """The whole content of a (small) file."""
    fs, path = get_fs(uri)
    with fs.open(path, "rb") as handle:
        return handle.read()


def exists(uri: str) -> bool:
    fs, path = get_fs(uri)
    return fs.exists(path)


def size(uri: str) -> int:
    fs, path = get_fs(uri)
    return int(fs.size(path))


def remove_tree(uri: str) -> None:
    """Delete a folder and everything in it; a missing folder is fine."""
    fs, path = get_fs(uri)
    with contextlib.suppress(FileNotFoundError):
        if fs.exists(path):
            fs.rm(path, recursive=True)


def scratch_root(configured: str | None = None) -> str:
    """Node-local scratch space (``RAYBATCH_SCRATCH``, the configured folder, or the temp dir)."""
    root = configured or os.environ.get("RAYBATCH_SCRATCH") or os.path.join(tempfile.gettempdir(), "raybatch")
    os.makedirs(root, exist_ok=True)
    return root


def stage_input(uri: str, scratch: str) -> str:
    """A local path ffmpeg can read for ``uri``: the file itself when local, else a copy
    downloaded once per node (shared by every worker of the node, guarded by a file lock).
    A local name that is not UTF-8 is reached through a link of a UTF-8 name: command
    builders encode their arguments as UTF-8."""
    if is_local(uri):
        path = local_path(uri)
        return path if path == printable(path) else _utf8_link(path, scratch)
    fs, path = get_fs(uri)
    info = fs.info(path)
    stamp = f"{uri}|{info.get('size')}|{info.get('ETag') or info.get('mtime') or ''}"
    digest = hashlib.sha256(stamp.encode()).hexdigest()[:24]
    cache_dir = os.path.join(scratch, "inputs")
    os.makedirs(cache_dir, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    target = os.path.join(cache_dir, digest + suffix)
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(target):
            temp = _temp_name(target)
            fs.get_file(path, temp)
            os.replace(temp, target)
    return target


def _utf8_link(path: str, scratch: str) -> str:
    folder = os.path.join(scratch, "inputs")
    os.makedirs(folder, exist_ok=True)
    digest = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:24]
    link = os.path.join(folder, digest + printable(os.path.splitext(path)[1]))
    if not os.path.islink(link):
        temp = _temp_name(link)
        os.symlink(os.path.abspath(path), temp)
        os.replace(temp, link)
    return link


def staging_path(uri: str, scratch: str) -> str:
    """A local path to produce ``uri`` at before committing it: beside the final name for local
    targets (so the commit is one rename), in node scratch for remote ones."""
    if is_local(uri):
        target = local_path(uri)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Keep the extension last: ffmpeg picks formats by it.
        return _temp_name(target) + os.path.splitext(target)[1]
    os.makedirs(os.path.join(scratch, "outputs"), exist_ok=True)
    return os.path.join(scratch, "outputs", f"{uuid.uuid4().hex}{os.path.splitext(uri)[1]}")


@contextlib.contextmanager
def local_output(uri: str, scratch: str) -> Iterator[str]:
    """Yield a local path to write; on success the file is committed to ``uri`` atomically,
    on failure it is removed."""
    work = staging_path(uri, scratch)
    try:
        yield work
        commit_file(work, uri)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(work)


@contextlib.contextmanager
def local_copy(uri: str, scratch: str) -> Iterator[str]:
    """A readable local path for an intermediate file; remote files are fetched and removed after."""
    if is_local(uri):
        yield local_path(uri)
        return
    fs, path = get_fs(uri)
    os.makedirs(os.path.join(scratch, "fetched"), exist_ok=True)
    target = os.path.join(scratch, "fetched", f"{uuid.uuid4().hex}{os.path.splitext(path)[1]}")
    fs.get_file(path, target)
    try:
        yield target
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(target)
