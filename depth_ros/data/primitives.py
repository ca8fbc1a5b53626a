"""Ray casting of free-standing primitives: oriented textured rectangles and spheres, exact depth.

Unlike :mod:`depth_ros.data.render` (axis-aligned box faces), the primitives here take any orientation:
a :class:`Quad` is a rectangle with its own in-plane axes (six of them make a box at any orientation,
one alone a slanted plane), a :class:`Sphere` is textured by a planar projection along its own axes (no
seams). Shading is Lambertian with one light per scene, fixed on the surface, so a point looks the same
from every view (the photometric assumption holds; the camera's own response is applied afterwards, see
:mod:`depth_ros.data.camera_response`).

Rays are those of :func:`~depth_ros.geometry.backproject` at depth 1 (``d = R K^-1 [u, v, 1]``), so the hit
parameter ``t`` of ``o + t d`` is the depth along the optical axis. Every primitive is tested against every
pixel (the scenes are small); a z-buffer keeps the nearest hit. Lengths are metres in the world frame.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from depth_ros.data.render import RenderedView
from depth_ros.data.textures import TextureAtlas
from depth_ros.geometry import PinholeCamera, backproject

_NEAR = 1e-3  # metres: hits closer than this are ignored
_AMBIENT = 0.5


@dataclass(frozen=True)
class Quad:
    """A one-sided textured rectangle.

    Attributes:
        centre: (3,) metres. axes: (2, 3) orthonormal in-plane axes (texture s and t directions).
        half_size: (2,) half extents along ``axes``, metres. The visible side is the one ``axes[0] x axes[1]``
            points to (a box's faces point outwards, a room's walls inwards).
        texture: texture id. texel_size: metres per texel at mip level 0. shade: Lambertian factor.
    """

    centre: np.ndarray
    axes: np.ndarray
    half_size: np.ndarray
    texture: int
    texel_size: float
    shade: float = 1.0

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.axes[0], self.axes[1])

    def scaled(self, scale: float) -> Quad:
        """The same rectangle in a world scaled by ``scale`` about the origin (texture scaled with it)."""
        return dataclasses.replace(
            self, centre=self.centre * scale, half_size=self.half_size * scale, texel_size=self.texel_size * scale
        )


@dataclass(frozen=True)
class Sphere:
    """A textured sphere; the texture is projected along ``axes[0] x axes[1]`` (s along ``axes[0]``)."""

    centre: np.ndarray
    radius: float
    axes: np.ndarray
    texture: int
    texel_size: float

    def scaled(self, scale: float) -> Sphere:
        return dataclasses.replace(
            self, centre=self.centre * scale, radius=self.radius * scale, texel_size=self.texel_size * scale
        )


@dataclass(frozen=True)
class PrimitiveScene:
    """Quads and spheres lit by one distant light; rays that hit nothing see a plain background colour.

    Attributes:
        light: (3,) unit vector towards the light (spheres are shaded per pixel with it; quads carry their shade).
        background: RGB of rays that hit nothing (depth +inf).
    """

    quads: tuple[Quad, ...]
    spheres: tuple[Sphere, ...]
    light: np.ndarray
    background: tuple[float, float, float] = (128.0, 128.0, 128.0)

    def scaled(self, scale: float) -> PrimitiveScene:
        """The whole scene scaled by ``scale`` about the origin: every image of a camera path scaled likewise is
        unchanged, every depth is multiplied by ``scale``."""
        return dataclasses.replace(
            self,
            quads=tuple(q.scaled(scale) for q in self.quads),
            spheres=tuple(s.scaled(scale) for s in self.spheres),
        )


def lambert(normal: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Ambient plus diffuse shade in [``_AMBIENT``, 1] of unit ``normal`` (..., 3) under unit ``light`` (3,)."""
    return _AMBIENT + (1.0 - _AMBIENT) * np.maximum(normal @ light, 0.0)


class PrimitiveRenderer:
    """Renders a :class:`PrimitiveScene` through a :class:`PinholeCamera` at any pose."""

    def __init__(self, scene: PrimitiveScene, camera: PinholeCamera, atlas: TextureAtlas):
        self.scene = scene
        self.camera = camera
        self.atlas = atlas
        self._rays = backproject(np.ones((camera.height, camera.width)), camera.K).reshape(-1, 3)
        self._focal = 0.5 * (camera.fx + camera.fy)

    def render(self, T_world_cam: np.ndarray) -> RenderedView:
        """The view of a camera with pose ``T_world_cam`` (4, 4): RGB, depth (+inf where nothing is hit), and
        the index of the primitive each pixel sees (quads first, then spheres; -1 for none)."""
        origin = T_world_cam[:3, 3]
        directions = self._rays @ T_world_cam[:3, :3].T  # (HW, 3), scaled so that t is the depth
        count = len(directions)
        depth = np.full(count, np.inf)
        hit_id = np.full(count, -1, np.int64)
        for index, quad in enumerate(self.scene.quads):
            self._keep_nearer(_hit_quad(quad, origin, directions), index, depth, hit_id)
        for index, sphere in enumerate(self.scene.spheres):
            self._keep_nearer(_hit_sphere(sphere, origin, directions), len(self.scene.quads) + index, depth, hit_id)
        rgb = self._shade(origin, directions, depth, hit_id)
        height, width = self.camera.height, self.camera.width
        return RenderedView(
            np.clip(rgb + 0.5, 0, 255).astype(np.uint8).reshape(height, width, 3),
            depth.astype(np.float32).reshape(height, width),
            hit_id.astype(np.int32).reshape(height, width),
            np.zeros((height, width), bool),
        )

    @staticmethod
    def _keep_nearer(t: np.ndarray, index: int, depth: np.ndarray, hit_id: np.ndarray) -> None:
        nearer = t < depth
        depth[nearer] = t[nearer]
        hit_id[nearer] = index

    def _shade(self, origin: np.ndarray, directions: np.ndarray, depth: np.ndarray, hit_id: np.ndarray) -> np.ndarray:
        """(HW, 3) float RGB in [0, 255]: textured, shaded primitives and the background."""
        rgb = np.empty((len(depth), 3), np.float32)
        rgb[:] = self.scene.background
        quads = len(self.scene.quads)
        primitives = [*self.scene.quads, *self.scene.spheres]
        for index in np.unique(hit_id[hit_id >= 0]):
            pixels = np.flatnonzero(hit_id == index)
            d = directions[pixels]
            points = origin + depth[pixels, None] * d
            primitive = primitives[index]
            if index < quads:
                normal = np.broadcast_to(primitive.normal, points.shape)
                shade = np.full(len(pixels), primitive.shade)
                local = points - primitive.centre
                s = (local @ primitive.axes[0] + primitive.half_size[0]) / primitive.texel_size
                t = (local @ primitive.axes[1] + primitive.half_size[1]) / primitive.texel_size
            else:
                normal = (points - primitive.centre) / primitive.radius
                shade = lambert(normal, self.scene.light)
                local = points - primitive.centre
                s = (local @ primitive.axes[0] + primitive.radius) / primitive.texel_size
                t = (local @ primitive.axes[1] + primitive.radius) / primitive.texel_size
            # Texels under one pixel: range / focal length, stretched by the slant of the surface.
            norm_d = np.linalg.norm(d, axis=1)
            slant = np.maximum(np.abs(np.sum(normal * d, axis=1)) / norm_d, 1e-3)
            footprint = depth[pixels] * norm_d / (self._focal * slant * primitive.texel_size)
            colour = self.atlas.sample(np.full(len(pixels), primitive.texture), s, t, footprint)
            rgb[pixels] = colour * shade[:, None].astype(np.float32)
        return rgb


def _hit_quad(quad: Quad, origin: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """(N,) depth of each ray's hit on the visible side of ``quad``, +inf where it misses."""
    normal = quad.normal
    if float((origin - quad.centre) @ normal) <= 0.0:  # the camera is behind it: the back side is never seen
        return np.full(len(directions), np.inf)
    towards = directions @ normal
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float((quad.centre - origin) @ normal) / towards
    local = origin - quad.centre + t[:, None] * directions
    inside = (np.abs(local @ quad.axes[0]) <= quad.half_size[0]) & (np.abs(local @ quad.axes[1]) <= quad.half_size[1])
    return np.where(inside & (towards < 0) & (t > _NEAR), t, np.inf)


def _hit_sphere(sphere: Sphere, origin: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """(N,) depth of each ray's first hit on the outside of ``sphere``, +inf where it misses."""
    offset = origin - sphere.centre
    a = np.einsum("ij,ij->i", directions, directions)
    b = directions @ offset
    c = float(offset @ offset) - sphere.radius**2
    if c <= 0.0:  # the camera is inside: nothing of the outside is seen
        return np.full(len(directions), np.inf)
    discriminant = b * b - a * c
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(discriminant)) / a
    return np.where((discriminant >= 0) & (t > _NEAR), t, np.inf)
