"""Photometric augmentation of training samples, as the reference implementations do it.

Both kinds draw their parameters once per sample from a caller's ``numpy.random.Generator`` and apply
the same change to every image of the sample, so that frames stay photometrically consistent with
each other (what the warping losses and the cost volume compare).

* :class:`ColorJitter`: Monodepth2's ``transforms.ColorJitter(brightness=0.2, contrast=0.2,
  saturation=0.2, hue=0.1)`` (``datasets/mono_dataset.py``) with torchvision's arithmetic: brightness
  scales, contrast blends with the image's mean grey level, saturation blends with the grey image, hue
  rotates the HSV hue; the four in a random order; clamped to [0, 1] after each. Images are float here,
  not the 8-bit PIL images of the reference, so nothing is rounded in between.
* :class:`PairedPhotometric`: the MVDepthNet training fork's imgaug ``SomeOf((0, 2), [Gaussian noise
  sigma <= 0.01 * 255, linear contrast 0.5..2, multiply 0.7..1.3, add -40..40])``, each per channel with
  probability 0.5, on 0..255 values, clipped to [0, 255] after each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_GREY_WEIGHTS = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale


def grey(images: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB -> (..., 1, H, W) luma."""
    r, g, b = images.unbind(-3)
    return (_GREY_WEIGHTS[0] * r + _GREY_WEIGHTS[1] * g + _GREY_WEIGHTS[2] * b).unsqueeze(-3)


def _blend(images: torch.Tensor, other: torch.Tensor, factor: float) -> torch.Tensor:
    return (factor * images + (1.0 - factor) * other).clamp(0.0, 1.0)


def _rgb_to_hsv(images: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0, 1] -> HSV with every channel in [0, 1] (torchvision's formulas)."""
    r, g, b = images.unbind(-3)
    maxc, _ = images.max(-3)
    minc, _ = images.min(-3)
    chroma = maxc - minc
    grey_pixel = chroma == 0
    saturation = chroma / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    safe_chroma = torch.where(grey_pixel, torch.ones_like(chroma), chroma)
    rc, gc, bc = (maxc - r) / safe_chroma, (maxc - g) / safe_chroma, (maxc - b) / safe_chroma
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    hue = torch.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return torch.stack([hue, saturation, maxc], -3)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_rgb_to_hsv`."""
    h, s, v = hsv.unbind(-3)
    sector = torch.floor(h * 6.0)
    fraction = h * 6.0 - sector
    sector = sector.to(torch.int64) % 6
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * fraction)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - fraction))).clamp(0.0, 1.0)
    choices = {
        0: (v, t, p),
        1: (q, v, p),
        2: (p, v, t),
        3: (p, q, v),
        4: (t, p, v),
        5: (v, p, q),
    }
    rgb = torch.zeros_like(hsv)
    for k, channels in choices.items():
        rgb = torch.where((sector == k).unsqueeze(-3), torch.stack(channels, -3), rgb)
    return rgb


@dataclass(frozen=True)
class ColorJitter:
    """One draw of Monodepth2's colour jitter (factors 1 and hue 0 change nothing).

    Attributes:
        brightness, contrast, saturation: factors in [0.8, 1.2].
        hue: shift of the HSV hue in turns, in [-0.1, 0.1].
        order: the order in which the four are applied (0 brightness, 1 contrast, 2 saturation, 3 hue).
    """

    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0
    order: tuple[int, ...] = (0, 1, 2, 3)

    @classmethod
    def draw(cls, rng: np.random.Generator, strength: float = 0.2, hue: float = 0.1) -> ColorJitter:
        """Factors uniform in ``[1 - strength, 1 + strength]``, hue uniform in ``[-hue, hue]``, random order."""
        factors = rng.uniform(1.0 - strength, 1.0 + strength, size=3)
        return cls(
            *(float(f) for f in factors), float(rng.uniform(-hue, hue)), tuple(int(k) for k in rng.permutation(4))
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Apply to (..., 3, H, W) RGB in [0, 1]; the contrast uses each image's own mean grey level."""
        for step in self.order:
            if step == 0:
                images = _blend(images, torch.zeros_like(images), self.brightness)
            elif step == 1:
                images = _blend(images, grey(images).mean((-3, -2, -1), keepdim=True), self.contrast)
            elif step == 2:
                images = _blend(images, grey(images), self.saturation)
            elif self.hue != 0.0:
                hsv = _rgb_to_hsv(images)
                hsv = torch.stack(
                    [torch.remainder(hsv[..., 0, :, :] + self.hue, 1.0), hsv[..., 1, :, :], hsv[..., 2, :, :]], -3
                )
                images = _hsv_to_rgb(hsv)
        return images


@dataclass(frozen=True)
class PairedPhotometric:
    """One draw of the MVDepthNet fork's augmentation: up to two of noise, contrast, multiply, add.

    Attributes:
        steps: ``(name, value)`` in order of application; ``value`` is a scalar or a (3,) per-channel
            array: ``noise`` (sigma in grey levels), ``contrast`` (alpha around 127.5), ``multiply``, ``add``.
    """

    steps: tuple[tuple[str, np.ndarray], ...] = ()

    @classmethod
    def draw(cls, rng: np.random.Generator) -> PairedPhotometric:
        ranges = {"noise": (0.0, 0.01 * 255), "contrast": (0.5, 2.0), "multiply": (0.7, 1.3), "add": (-40.0, 40.0)}
        names = list(ranges)
        chosen = sorted(rng.choice(len(names), size=int(rng.integers(0, 3)), replace=False))
        steps = []
        for k in chosen:
            low, high = ranges[names[k]]
            per_channel = rng.random() < 0.5
            steps.append((names[k], rng.uniform(low, high, size=3 if per_channel else 1)))
        return cls(tuple(steps))

    def __call__(self, images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Apply to (..., 3, H, W) RGB in [0, 255]; ``rng`` draws the noise (different for every pixel)."""
        for name, value in self.steps:
            v = torch.as_tensor(value, dtype=images.dtype).reshape(-1, 1, 1)
            if name == "noise":
                noise = torch.from_numpy(rng.standard_normal(images.shape).astype(np.float32)).to(images.dtype)
                images = images + noise * v
            elif name == "contrast":
                images = 127.5 + v * (images - 127.5)
            elif name == "multiply":
                images = images * v
            else:
                images = images + v
            images = images.clamp(0.0, 255.0)
        return images
