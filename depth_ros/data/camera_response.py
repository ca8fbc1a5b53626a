"""A camera's response that changes from frame to frame: exposure gain, gamma, sensor noise and slight blur.

Real cameras re-expose between frames, so the same surface point is not the same grey level in two views;
a multi-view network must match under such changes. :class:`CameraResponse` is one frame's draw, applied
to the rendered radiance (uint8 RGB) in the order a camera applies them: optics (blur), exposure (gain),
tone curve (gamma), then noise and quantisation.
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
    def draw(cls, rng: np.random.Generator, base_gain: float = 1.0) -> CameraResponse:
        """A random frame response around a sequence's ``base_gain``: gain x0.85..1.18, gamma 0.8..1.25,
        noise 0..4 grey levels, blur 0..0.7 px (none in half the frames)."""
        return cls(
            gain=float(base_gain * np.exp(rng.uniform(np.log(0.85), np.log(1.18)))),
            gamma=float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))),
            noise_sigma=float(rng.uniform(0.0, 4.0)),
            blur_sigma=float(rng.uniform(0.0, 0.7)) if rng.random() < 0.5 else 0.0,
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
