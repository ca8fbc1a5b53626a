"""Depth as a colour image for people: near is red, far is blue (the turbo map), unknown is black."""

from __future__ import annotations

import cv2
import numpy as np


def colour_depth(depth: np.ndarray, max_depth_m: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB of (H, W) depth in metres, on an inverse-depth scale from ``max_depth_m`` (blue) to
    ``max_depth_m / 20`` and nearer (red); NaN and non-positive depth are black, +inf (sky) is the far colour.

    Inverse depth spreads the near range, where robots need detail, over most of the colours.
    """
    valid = depth > 0  # False for NaN
    inverse = np.divide(1.0, depth, out=np.zeros(depth.shape, np.float32), where=valid)
    near = 20.0 / max_depth_m
    levels = np.clip((inverse - 1.0 / max_depth_m) / (near - 1.0 / max_depth_m), 0.0, 1.0)
    colours = cv2.applyColorMap((levels * 255.0).astype(np.uint8), cv2.COLORMAP_TURBO)
    colours[~valid] = 0
    return cv2.cvtColor(colours, cv2.COLOR_BGR2RGB)
