"""``embed_text``: what a series episode is about, for the series step's cross-references: its
text (transcript, else metadata) as a sentence embedding (all-MiniLM-L6-v2, in its own actor
like the other models), its concepts, and the measures its difficulty is judged on."""

from __future__ import annotations

from raybatch.config.model import RaybatchConfig
from raybatch.series.links import text_profile
from raybatch.stages.base import Demand, Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row

#: Where the package stage leaves the episode's text for this stage (it never reaches a report).
EPISODE_TEXT = "episode_text"


class EmbedTextStage(Stage[AssemblyRow]):
    """One packaged episode's text, embedded and profiled."""

    name = "embed_text"
    handles = AssemblyRow
    demand = Demand(runs_as="model")

    @classmethod
    def enabled(cls, config: RaybatchConfig) -> bool:
        return config.series_coordinated and config.metadata.cross_references

    def setup(self) -> None:
        from raybatch.models.text import TextModel  # transformers loads only in this actor

        self.model = TextModel(threads=self.context.model_threads)

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        package = row.package or {}
        text, transcribed = package.pop(EPISODE_TEXT, None) or ("", False)
        duration = (row.verified or {}).get("video_duration_s") or row.edit.kept_duration_s
        vector = self.model.embed([text])[0]
        package["series_text"] = {
            **text_profile(text, transcript=transcribed, duration_s=duration),
            "embedding": [round(float(x), 5) for x in vector],
            "device": self.model.device,
        }
        row.package = package
        return [row]
