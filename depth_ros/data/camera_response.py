"""A camera's response: a tone curve (gamma) of its own, and exposure, noise and blur that change per frame.

Real cameras re-expose between frames (auto exposure drifts by a few percent), add fresh sensor noise to each
image and blur some (motion, focus), so the same surface point is not the same grey level in two views; a
multi-view network must match under such changes. :class:`CameraResponse` is one frame's response, applied to
the rendered radiance (uint8 RGB) in the order a camera applies them: optics (blur), exposure (gain), tone curve
(gamma), then noise and quantisation. The gamma and the mean exposure belong to the camera (one per sequence).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CameraResponse:
    """One frame's response.

    Attributes:
        gain: exposure multiplier of the linear image.
        gamma: exponent of the tone curve on [0, 1] values (1 = linear).
        noise_sigma: standard deviation of additive Gaussian noise, grey levels.
        blur_sigma: standard deviation of a Gaussian blur, pixels (0 = sharp).
        noise_seed: seed of the noise pattern.
    """

    gain: float = 1.0
    gamma: float = 1.0
    noise_sigma: float = 0.0
    blur_sigma: float = 0.0
    noise_seed: int = 0

    @classmethod
    def draw(cls, rng: np.random.Generator, base_gain: float = 1.0, gamma: float = 1.0) -> CameraResponse:
        """One frame of a camera with mean exposure ``base_gain`` and tone curve ``gamma``: gain x0.95..1.05 around
        ``base_gain``, noise 0..3 grey levels, a blur of 0.3..0.7 px in a third of the frames."""
        return cls(
            gain=float(base_gain * rng.uniform(0.95, 1.05)),
            gamma=gamma,
            noise_sigma=float(rng.uniform(0.0, 3.0)),
            blur_sigma=float(rng.uniform(0.3, 0.7)) if rng.random() < 1 / 3 else 0.0,
            noise_seed=int(rng.integers(2**31)),
        )

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (H, W, 3) uint8 as this camera records it."""
        image = rgb.astype(np.float32)
        if self.blur_sigma > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.blur_sigma)
        image = 255.0 * np.clip(image * (self.gain / 255.0), 0.0, 1.0) ** self.gamma
        if self.noise_sigma > 0:
            noise = np.random.default_rng(self.noise_seed).standard_normal(image.shape, dtype=np.float32)
            image += self.noise_sigma * noise
        return np.clip(image + 0.5, 0, 255).astype(np.uint8)
