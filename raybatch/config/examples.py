"""The example configurations shipped inside the package (``raybatch batch config --example``).

They are the files a checkout shows as ``configs/`` (a link to this folder), so the README's
``--config configs/batch_config.yaml`` and an installed wheel read the same text.
"""

from __future__ import annotations

from importlib import resources

#: Example name -> file: the whole configuration with comments, the guide's series file, and
#: the guide's custom output layout.
EXAMPLES: dict[str, str] = {
    "batch": "batch_config.yaml",
    "series": "series_config.yaml",
    "custom_output": "custom_output.yaml",
}


def example_text(name: str) -> str:
    """The text of the example ``name`` (one of :data:`EXAMPLES`)."""
    return resources.files("raybatch.config").joinpath("examples", EXAMPLES[name]).read_text("utf-8")
