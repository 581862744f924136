"""Discovery: find a job's input videos and give each a distinct output folder name."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import unicodedata
from dataclasses import dataclass

from raybatch.config.model import DEFAULT_AUDIO_EXTENSIONS, DEFAULT_VIDEO_EXTENSIONS
from raybatch.errors import InputError
from raybatch.io.names import bounded, printable, safe_name
from raybatch.io.storage import (
    explain_storage_error,
    get_fs,
    is_storage_failure,
    normalise_root,
)


@dataclass(frozen=True)
class DiscoveredVideo:
    uri: str
    relative_path: str
    size_bytes: int
    modified: str


def natural_key(text: str) -> list:
    """Sort key that orders "episode 2" before "episode 10", ignoring case and Unicode forms
    (text and numbers alternate, so two keys always compare)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", folded)]


def _matches(name: str, pattern: str | None) -> bool:
    if pattern:
        return fnmatch.fnmatch(name.casefold(), pattern.casefold())
    extension = posixpath.splitext(name)[1].casefold()
    return extension in DEFAULT_VIDEO_EXTENSIONS or extension in DEFAULT_AUDIO_EXTENSIONS


def discover_inputs(
    input_uri: str,
    *,
    pattern: str | None = None,
    recursive: bool = False,
    exclude: tuple[str, ...] = (),
    skipped: list[tuple[str, str]] | None = None,
) -> list[DiscoveredVideo]:
    """List the videos under ``input_uri`` (a folder, a single file, or a URL), naturally sorted.

    Hidden files, raybatch's own temporary files and anything under ``exclude`` (the output
    folder, when it lies inside the input) are skipped; ``skipped`` (when given) collects each
    with why.
    """
    try:
        return _discover(input_uri, pattern=pattern, recursive=recursive, exclude=exclude, skipped=skipped)
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise explain_storage_error(input_uri, exc) from None


def _discover(
    input_uri: str,
    *,
    pattern: str | None,
    recursive: bool,
    exclude: tuple[str, ...],
    skipped: list[tuple[str, str]] | None = None,
):
    fs, root = get_fs(input_uri)
    protocol = input_uri.split("://", 1)[0] + "://" if "://" in input_uri else ""
    if not fs.exists(root):
        if protocol and protocol != "file://":
            # ``exists`` hides why: listing the bucket raises the real cause (no such bucket,
            # refused credentials), which the caller turns into a clear error.
            fs.ls(root.split("/", 1)[0])
        raise InputError(f"{input_uri}: no such file or folder; check the path or URL")

    def to_uri(path: str) -> str:
        if not protocol or protocol == "file://":
            return normalise_root(path)
        return protocol + path

    if fs.isfile(root):
        info = fs.info(root)
        return [
            DiscoveredVideo(
                to_uri(root), posixpath.basename(root), int(info.get("size") or 0), str(info.get("mtime", ""))
            )
        ]
    entries = fs.find(root, detail=True) if recursive else {e["name"]: e for e in fs.ls(root, detail=True)}
    excluded = tuple(normalise_root(e).rstrip("/") for e in exclude)
    videos = []
    for path, info in entries.items():
        video, reason = _entry(fs, root, path, info, to_uri(path), pattern, excluded)
        if video:
            videos.append(video)
        elif skipped is not None and reason:
            skipped.append(reason)
    if not videos:
        what = f"matching {pattern!r}" if pattern else "with a video or audio extension"
        hint = "" if recursive else "; add --recursive if they are in subfolders"
        raise InputError(f"{input_uri}: no files {what} found{hint}, or pass --pattern GLOB")
    videos.sort(key=lambda v: natural_key(v.relative_path))
    return videos


def _entry(
    fs, root: str, path: str, info: dict, uri: str, pattern: str | None, excluded: tuple[str, ...]
) -> tuple[DiscoveredVideo | None, tuple[str, str] | None]:
    """One listed entry: the input it is, or (its relative path, why it is skipped)."""
    base = root.rstrip("/")
    relative = path[len(base) :].lstrip("/") if path.startswith(base) else posixpath.basename(path)
    reason = _skip_reason(fs, path, info, relative, pattern)
    if reason is None and any(uri == e or uri.startswith(e + "/") for e in excluded):
        reason = "inside the output folder"
    if reason is None:
        size, modified = int(info.get("size") or 0), str(info.get("mtime", info.get("LastModified", "")))
        return DiscoveredVideo(uri, relative, size, modified), None
    return None, ((relative, reason) if relative else None)


def _skip_reason(fs, path: str, info: dict, relative: str, pattern: str | None) -> str | None:
    """Why an entry is not an input (``None``: it is one): a folder, a hidden file, or a name
    that is not a video's or does not match the pattern. A file or a link to one is an input."""
    # fsspec reports a symlink as type "other"; a link to a file is an input like any other,
    # and a dangling one is kept so that it fails with its own clear error.
    linked_file = info.get("islink") and (fs.isfile(path) or not fs.exists(path))
    if info.get("type") == "directory":
        return "a folder (add --recursive to look inside)"
    if info.get("type") != "file" and not linked_file:
        return "not a regular file"
    parts = relative.split("/")
    if any(p.startswith(".") for p in parts):
        return "hidden"
    if not _matches(parts[-1], pattern):
        return f"does not match --pattern {pattern}" if pattern else "not a video or audio file name"
    return None


def _clean(name: str) -> str:
    return safe_name(name, fallback="video")


def assign_video_keys(
    relative_paths: list[str],
    *,
    preserve_directory_structure: bool = False,
) -> list[str]:
    """A distinct output folder name for every input, stable for a given set of inputs.

    A file's stem is used when no other input shares it; inputs that would collide
    (``a/clip.mp4``, ``b/clip.mp4``, ``clip.mkv``) are told apart by their folders and
    extension. With ``preserve_directory_structure`` the key keeps the input's folders.
    """
    stems = []
    for rel in relative_paths:
        directory, filename = posixpath.split(rel)
        stem = _clean(posixpath.splitext(filename)[0])
        if preserve_directory_structure and directory:
            stem = "/".join(_clean(p) for p in directory.split("/")) + "/" + stem
        stems.append(stem)
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    keys = []
    for rel, stem in zip(relative_paths, stems, strict=True):
        if counts[stem.casefold()] == 1:
            keys.append(stem)
            continue
        directory, filename = posixpath.split(rel)
        base, ext = posixpath.splitext(filename)
        parts = [*(p for p in directory.split("/") if p), base]
        key = "_".join(_clean(p) for p in parts)
        if ext:
            key += "_" + _clean(ext.lstrip("."))
        keys.append(key)
    keys = ["/".join(bounded(part) for part in key.split("/")) for key in keys]
    # A rename can still collide with a real file's stem; settle it with a counter.
    seen: dict[str, int] = {}
    unique = []
    for key in keys:
        folded = key.casefold()
        if folded in seen:
            seen[folded] += 1
            key = f"{key}_{seen[folded]}"
        else:
            seen[folded] = 1
        unique.append(key)
    return unique


def read_file_list(text: str, base: str) -> list[str]:
    """Inputs named by a list file: one path or URL per line; blank lines and ``#`` comments
    are skipped; relative paths are relative to ``base`` (the list file's folder)."""
    entries = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if "://" not in entry and not posixpath.isabs(entry):
            entry = posixpath.join(base, entry)
        entries.append(entry)
    return entries


def read_list_file(list_path: str) -> list[str]:
    """The inputs the list file at ``list_path`` names (see :func:`read_file_list`), as a job
    records them."""
    try:
        with open(list_path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(
            f"cannot read the list {printable(list_path)}: {reason}",
            hint="give a text file with one path or URL per line",
        ) from None
    return read_file_list(text, os.path.dirname(os.path.abspath(list_path)))


def input_from_uri(uri: str) -> DiscoveredVideo:
    """One listed input. A missing one is kept: it fails in the probe with its own clear error
    while the rest of the list goes on."""
    fs, path = get_fs(uri)
    try:
        info = fs.info(path)
    except (FileNotFoundError, OSError):
        info = {}
    protocol = uri.split("://", 1)[0] + "://" if "://" in uri else ""
    target = normalise_root(path) if not protocol or protocol == "file://" else uri
    return DiscoveredVideo(
        target, posixpath.basename(path), int(info.get("size") or 0), str(info.get("mtime", ""))
    )
