"""Face detection with OpenCV's bundled Haar cascade (the XML ships inside the opencv wheel)."""

from __future__ import annotations

import numpy as np

from raybatch.package.thumbnails import Box

#: Frames are searched at this long side at most: faces worth a thumbnail are not tiny.
SEARCH_LONG_SIDE = 640


class FaceDetector:
    """Frontal faces in RGB frames; loads the cascade once."""

    def __init__(self) -> None:
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError(f"OpenCV's face cascade did not load from {path}")
        self._cv2 = cv2

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Face boxes in ``rgb``'s own pixel coordinates, largest first."""
        cv2 = self._cv2
        height, width = rgb.shape[:2]
        factor = min(1.0, SEARCH_LONG_SIDE / max(height, width))
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        if factor < 1:
            grey = cv2.resize(
                grey, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA
            )
        grey = cv2.equalizeHist(grey)
        smallest = max(24, round(min(grey.shape) * 0.08))
        found = self.cascade.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=6, minSize=(smallest, smallest)
        )
        boxes = [
            (round(x / factor), round(y / factor), round((x + w) / factor), round((y + h) / factor))
            for x, y, w, h in (found if len(found) else [])
        ]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
