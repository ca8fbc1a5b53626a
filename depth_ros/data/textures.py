"""Textures for the synthetic scenes: real photographs shipped by scikit-image and procedural patterns.

Textures live in a :class:`TextureAtlas` with a mip pyramid, sampled bilinearly at the level that
matches each pixel's footprint (so distant surfaces do not alias and flicker from frame to frame) and
addressed with mirrored repeat (so tiling shows no seams).
"""

from __future__ import annotations

import cv2
import numpy as np

TEXTURE_SIZE = 256  # texels per side at mip level 0 of the scene textures (a power of two)
_SMALLEST_MIP = 4  # texels per side of the coarsest mip level

# Photographs bundled inside the scikit-image wheel (no download): colour ones as they are,
# grey ones tinted. Every name here loads offline.
_COLOUR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
_GREY_PHOTOS = ("brick", "grass", "gravel", "camera", "moon", "coins")


def square_texture(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize to ``size x size``; grey becomes 3 equal channels."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3]
    h, w = image.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side])
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def photo_textures(rng: np.random.Generator, size: int = TEXTURE_SIZE) -> list[np.ndarray]:
    """Photographs from ``skimage.data`` as (size, size, 3) uint8 textures; grey ones get a random tint."""
    import skimage.data

    textures = [square_texture(getattr(skimage.data, name)(), size) for name in _COLOUR_PHOTOS]
    for name in _GREY_PHOTOS:
        tint = rng.uniform(0.55, 1.0, size=3)
        textures.append(np.clip(square_texture(getattr(skimage.data, name)(), size) * tint, 0, 255).astype(np.uint8))
    return textures


def _fractal_noise(rng: np.random.Generator, size: int, octaves: int = 5) -> np.ndarray:
    """(size, size) float32 noise in [0, 1]: smooth random grids of doubling frequency, halving amplitude."""
    total = np.zeros((size, size), np.float32)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        cells = 4 * 2**octave
        grid = rng.random((cells, cells)).astype(np.float32)
        total += amplitude * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        weight += amplitude
        amplitude *= 0.5
    total /= weight
    return (total - total.min()) / max(float(np.ptp(total)), 1e-6)


def _colourise(rng: np.random.Generator, value: np.ndarray) -> np.ndarray:
    """Map a [0, 1] field to uint8 RGB between two random colours."""
    dark, light = rng.uniform(20, 110, size=3), rng.uniform(140, 250, size=3)
    rgb = dark + value[..., None] * (light - dark)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def procedural_textures(rng: np.random.Generator, size: int = TEXTURE_SIZE) -> list[np.ndarray]:
    """Procedural (size, size, 3) uint8 textures: fractal noise, bricks, noisy checkers, stripes, tiles."""
    coords = np.arange(size, dtype=np.float32)
    v, u = np.meshgrid(coords, coords, indexing="ij")
    noise = [_fractal_noise(rng, size) for _ in range(5)]

    brick_h = size / 8
    row = np.floor(v / brick_h)
    brick_u = u + (row % 2) * (size / 8)
    mortar = (np.mod(v, brick_h) < 3) | (np.mod(brick_u, size / 4) < 3)
    bricks = np.where(mortar, 0.9, 0.35 + 0.4 * noise[0])

    checker = ((np.floor(u / (size / 8)) + np.floor(v / (size / 8))) % 2) * 0.6 + 0.4 * noise[1]
    stripes = 0.5 + 0.3 * np.sin(u * 2 * np.pi / (size / 6) + 6 * noise[2]) + 0.2 * noise[3]
    tiles = np.where((np.mod(u, size / 4) < 4) | (np.mod(v, size / 4) < 4), 0.15, 0.6 + 0.4 * noise[4])

    fields = [noise[0], noise[2], bricks, checker, stripes, tiles, 0.5 * noise[1] + 0.5 * noise[3]]
    return [_colourise(rng, np.clip(field, 0, 1)) for field in fields]


class TextureAtlas:
    """A stack of square RGB textures with mip levels, sampled by texture id and texel coordinates."""

    def __init__(self, textures: list[np.ndarray]):
        """Args: textures: list of (S, S, 3) uint8 images of one size S, a power of two of at least 8
        (:data:`TEXTURE_SIZE` for the scene textures)."""
        size = textures[0].shape[0] if textures else 0
        if size < 2 * _SMALLEST_MIP or size & (size - 1) or any(t.shape != (size, size, 3) for t in textures):
            raise ValueError("textures must be (S, S, 3) uint8 of one size S, a power of two of at least 8")
        self.count = len(textures)
        mip_levels = int(np.log2(size // _SMALLEST_MIP)) + 1
        level = np.stack(textures).astype(np.float32)
        levels, offsets = [], []
        offset = 0
        for _ in range(mip_levels):
            offsets.append(offset)
            levels.append(level.reshape(-1, 3))
            offset += level.shape[0] * level.shape[1] * level.shape[2]
            level = 0.25 * (level[:, 0::2, 0::2] + level[:, 1::2, 0::2] + level[:, 0::2, 1::2] + level[:, 1::2, 1::2])
        self._texels = np.concatenate(levels)
        self._offsets = np.array(offsets, dtype=np.int32)
        self._sizes = (size >> np.arange(mip_levels)).astype(np.int32)
        self._scales = (1.0 / (1 << np.arange(mip_levels))).astype(np.float32)

    def sample(self, texture: np.ndarray, s: np.ndarray, t: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """Bilinear, mip-mapped, mirrored-repeat lookup.

        Args:
            texture: (N,) texture ids.
            s, t: (N,) texel coordinates at level 0 (any real value; texel centres at integer + 0.5).
            footprint: (N,) texels of level 0 covered by one pixel; picks the mip level.

        Returns:
            (N, 3) float32 RGB in [0, 255].
        """
        level = np.clip(np.log2(np.maximum(footprint, 1.0)).astype(np.int32), 0, len(self._sizes) - 1)
        size = self._sizes[level]
        scale = self._scales[level]
        x = s * scale - 0.5
        y = t * scale - 0.5
        x0 = np.floor(x)
        y0 = np.floor(y)
        wx = (x - x0)[:, None]
        wy = (y - y0)[:, None]
        x0 = x0.astype(np.int32)
        y0 = y0.astype(np.int32)
        column0, column1 = _mirror(x0, size), _mirror(x0 + 1, size)
        base = self._offsets[level] + texture.astype(np.int32) * size * size
        row0 = base + _mirror(y0, size) * size
        row1 = base + _mirror(y0 + 1, size) * size
        texels = self._texels
        top = texels[row0 + column0] * (1 - wx) + texels[row0 + column1] * wx
        bottom = texels[row1 + column0] * (1 - wx) + texels[row1 + column1] * wx
        return top * (1 - wy) + bottom * wy


def _mirror(index: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Mirrored-repeat addressing for power-of-two ``size``: ..., 1, 0, | 0, 1, ..., S-1, | S-1, ..., 0, | 0, ..."""
    period = index & (2 * size - 1)  # index mod 2S, also for negative indices
    return np.where(period & size, period ^ (2 * size - 1), period)


def default_atlas(rng: np.random.Generator) -> TextureAtlas:
    """Photographs and procedural patterns, shuffled by ``rng``."""
    textures = photo_textures(rng) + procedural_textures(rng)
    order = rng.permutation(len(textures))
    return TextureAtlas([textures[i] for i in order])
