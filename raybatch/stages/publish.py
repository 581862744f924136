"""``publish``: commit a verified, packaged video to the output: the video, its analysis and
EDL (the analysis completed with the shots), thumbnails and metadata, each where the output
structure puts it (``raybatch.io.naming``). Every file lands atomically under its final name;
then the video's work files go."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from raybatch.analysis.decide import with_shots
from raybatch.io.layout import ANALYSIS_FILES
from raybatch.io.naming import THUMBNAIL_INDEX, VIDEO, VideoFiles
from raybatch.io.storage import exists, join, publish_file, read_bytes, remove_tree, size, write_json_atomic
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row

#: The title the series step renders for a video, once the series' palette is known.
SERIES_TITLE = "thumbnails/title.jpg"


class PublishStage(Stage[AssemblyRow]):
    """The last stage: nothing is published before every check passed."""

    name = "publish"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        layout, key = self.context.layout, row.video.key
        files = self.context.naming.files(key, (row.package or {}).get("title", ""), row.edit.content_type)
        made = [VIDEO, *self.publish_analysis(row, files)]
        metadata = [layout.file(files.paths[name]) for name in made[1:]]
        for name in (row.package or {}).get("files", []):
            source, target = join(layout.package_dir(key), name), layout.file(files.paths[name])
            if name == THUMBNAIL_INDEX:
                index = json.loads(read_bytes(source))
                write_json_atomic(target, published_index(index, files))
                if any(e.get("rendered_by") == "series" for e in index["thumbnails"]):
                    made.append(SERIES_TITLE)
            else:
                publish_file(source, target)
            made.append(name)
        final_uri = layout.file(files.paths[VIDEO])
        publish_file(row.assembled_uri, final_uri)
        measure.bytes_out = size(final_uri)
        if not self.settings.output.keep_work_files:
            remove_tree(layout.work_dir(key))
        row.published = {
            "folder": files.folder,
            "output_uri": final_uri,
            "output_size_bytes": measure.bytes_out,
            "metadata": metadata,
            "files": {name: files.paths[name] for name in made},
        }
        return [row]

    def publish_analysis(self, row: AssemblyRow, files: VideoFiles) -> list[str]:
        """``analysis.json`` (with the shots), ``edl.json`` and ``edl.otio``; returns the names
        of those published."""
        layout, key = self.context.layout, row.video.key
        published = []
        for name in ANALYSIS_FILES:
            source, target = layout.work_metadata(key, name), layout.file(files.paths[f"metadata/{name}"])
            if not exists(source):
                continue
            if name == "analysis.json" and row.shots is not None:
                document = with_shots(json.loads(read_bytes(source)), row.shots)
                write_json_atomic(target, document)
            else:
                publish_file(source, target)
            published.append(f"metadata/{name}")
        return published


def published_index(index: dict[str, Any], files: VideoFiles) -> dict[str, Any]:
    """``thumbnails.json`` naming each thumbnail (and a title's frame) by its published name."""

    def final(name: str) -> str:
        return posixpath.basename(files.paths[f"thumbnails/{name}"])

    def renamed(entry: dict[str, Any]) -> dict[str, Any]:
        names = {k: final(entry[k]) for k in ("file", "frame") if entry.get(k)}
        return {**entry, **names}

    return {**index, "thumbnails": [renamed(e) for e in index["thumbnails"]]}
