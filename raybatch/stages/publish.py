"""``publish``: commit a verified, packaged video to ``OUT/<folder>/``: the video, its
analysis and EDL (the analysis completed with the shots), thumbnails and metadata. Every file
lands atomically under its final name; then the video's work files go."""

from __future__ import annotations

import json

from raybatch.analysis.decide import with_shots
from raybatch.io.layout import ANALYSIS_FILES, video_folder
from raybatch.io.storage import exists, join, publish_file, read_bytes, remove_tree, size, write_json_atomic
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row


class PublishStage(Stage[AssemblyRow]):
    """The last stage: nothing is published before every check passed."""

    name = "publish"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        layout, key = self.context.layout, row.video.key
        output = self.settings.output
        folder = video_folder(key, row.edit.content_type, output.organize_by_type, *self.episode_number(key))
        final_uri = layout.enhanced_video(folder)
        metadata = self.publish_analysis(row, folder)
        for name in (row.package or {}).get("files", []):
            publish_file(join(layout.package_dir(key), name), layout.published(folder, name))
        publish_file(row.assembled_uri, final_uri)
        measure.bytes_out = size(final_uri)
        if not output.keep_work_files:
            remove_tree(layout.work_dir(key))
        row.published = {
            "folder": folder,
            "output_uri": final_uri,
            "output_size_bytes": measure.bytes_out,
            "metadata": metadata,
        }
        return [row]

    def episode_number(self, key: str) -> tuple[int | None, int]:
        """(episode, episodes) when the series numbers its file names, else (``None``, 0)."""
        series = self.context.series
        episode = series.episode_of(key) if series else None
        if episode is None or not self.settings.metadata.progressive_numbering:
            return None, 0
        return episode.number, max(e.number for e in series.episodes.values())

    def publish_analysis(self, row: AssemblyRow, folder: str) -> list[str]:
        """``analysis.json`` (with the shots), ``edl.json`` and ``edl.otio``; returns their URIs."""
        layout, key = self.context.layout, row.video.key
        published = []
        for name in ANALYSIS_FILES:
            source, target = layout.work_metadata(key, name), layout.published(folder, "metadata", name)
            if not exists(source):
                continue
            if name == "analysis.json" and row.shots is not None:
                document = with_shots(json.loads(read_bytes(source)), row.shots)
                write_json_atomic(target, document)
            else:
                publish_file(source, target)
            published.append(target)
        return published
