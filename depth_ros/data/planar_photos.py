"""Held-out ``planar_photos`` sequences: real photographs on a few planes, seen by a moving camera.

Exact ground truth on real image statistics: each plane carries a photograph (512 x 512, mirrored beyond
its edges) at its own scale and slant, so every view is a projective warp of real photos and every depth is
known exactly. Per sequence (all drawn from the seed):

* a wall 1-8 m in front of the camera, tilted by up to 35 degrees, covering the whole view;
* with probability 0.5 a board in front of it (0.4-0.7 of the wall's distance, tilted by up to 45 degrees),
  and with probability 0.5 a floor below the camera;
* a RealSense-like camera (640 x 480, fx = fy = 615 px, principal point a few pixels off centre) moving in
  6-DoF as :class:`~depth_ros.data.objects.CameraPath`, with baselines in proportion to the wall's distance.

Photos: ``retina``, ``clock``, ``cell`` and ``page`` (never used as training textures) and ``astronaut``,
``coffee``, ``rocket`` and ``hubble_deep_field`` (training textures at 256 x 256 on boxes; here at twice the
resolution on planes). No camera response is applied: the pixels are the photos' own.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from depth_ros.data.objects import CameraPath
from depth_ros.data.primitives import PrimitiveRenderer, PrimitiveScene, Quad
from depth_ros.data.sample import Frame
from depth_ros.data.textures import TextureAtlas, square_texture
from depth_ros.geometry import PinholeCamera, axis_angle_to_matrix

PHOTOS = ("retina", "clock", "cell", "page", "astronaut", "coffee", "rocket", "hubble_deep_field")
PHOTO_SIZE = 512
_START_NS = 1_700_000_000_000_000_000


@functools.cache
def photo_atlas() -> TextureAtlas:
    """The photographs of :data:`PHOTOS` at ``PHOTO_SIZE``, loaded once per process (they ship with scikit-image)."""
    import skimage.data

    return TextureAtlas([square_texture(getattr(skimage.data, name)(), PHOTO_SIZE) for name in PHOTOS])


@dataclass(frozen=True)
class PlanarPhotoConfig:
    """One ``planar_photos`` sequence; the same config gives the same bytes."""

    seed: int = 0
    frames: int = 12
    width: int = 640
    height: int = 480
    focal_px: float = 615.0
    camera_rate_hz: float = 10.0


def _plane(centre: np.ndarray, tilt_deg: float, rng: np.random.Generator, half: float, texel: float) -> Quad:
    """A photo quad at ``centre`` facing the origin, its normal tilted by up to ``tilt_deg`` about a random axis in
    the image plane, rolled at random."""
    axis = np.array([*rng.standard_normal(2), 0.0])
    tilt = axis_angle_to_matrix(axis / np.linalg.norm(axis) * np.deg2rad(rng.uniform(0.0, tilt_deg)))
    roll = axis_angle_to_matrix(np.array([0.0, 0.0, rng.uniform(-np.pi, np.pi)]))
    frame = tilt @ roll  # columns: s, t, and the normal pointing away from the camera
    axes = np.stack([frame[:, 0], -frame[:, 1]])  # s x t = -normal: the visible side faces the camera
    return Quad(centre, axes, np.array([half, half]), int(rng.integers(len(PHOTOS))), texel)


def planar_scene(rng: np.random.Generator, horizontal_fov: float) -> tuple[PrimitiveScene, float]:
    """The planes, and the wall's distance in metres (the scale of the camera path)."""
    distance = float(np.exp(rng.uniform(np.log(1.0), np.log(8.0))))
    view_width = 2 * distance * np.tan(horizontal_fov / 2)
    photo_texel = view_width * rng.uniform(0.5, 1.5) / PHOTO_SIZE  # one photo spans about the view
    quads = [_plane(np.array([0.0, 0.0, distance]), 35.0, rng, 20 * distance, photo_texel)]
    if rng.random() < 0.5:
        board_distance = distance * rng.uniform(0.4, 0.7)
        centre = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 1.0]) * board_distance
        quads.append(_plane(centre, 45.0, rng, 0.25 * distance, photo_texel * rng.uniform(0.3, 0.6)))
    if rng.random() < 0.5:
        below = distance * rng.uniform(0.2, 0.4)  # optical y points down
        floor = Quad(
            np.array([0.0, below, distance]),
            np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),  # s x t = -y: faces up, towards the camera
            np.array([20 * distance, distance]),
            int(rng.integers(len(PHOTOS))),
            photo_texel,
        )
        quads.append(floor)
    return PrimitiveScene(tuple(quads), (), np.array([0.0, -1.0, 0.0])), distance


class PlanarPhotoSequence:
    """Frames of one ``planar_photos`` sequence (a :class:`~depth_ros.data.sequence.FrameSequence`)."""

    def __init__(self, config: PlanarPhotoConfig):
        self.config = config
        scene_rng, camera_rng, path_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence([config.seed, 0x9407]).spawn(3)
        )
        cx = (config.width - 1) / 2 + camera_rng.uniform(-8, 8)
        cy = (config.height - 1) / 2 + camera_rng.uniform(-8, 8)
        self.camera = PinholeCamera(config.width, config.height, config.focal_px, config.focal_px, cx, cy)
        fov = 2 * np.arctan(config.width / (2 * config.focal_px))
        self.scene, self.wall_distance = planar_scene(scene_rng, fov)
        self.path = CameraPath.draw(path_rng, (config.frames - 1) / config.camera_rate_hz)
        self.path_scale = self.wall_distance / 5.0  # metres per canonical unit of the path
        self.renderer = PrimitiveRenderer(self.scene, self.camera, photo_atlas())
        self._frames: dict[int, Frame] = {}

    def __repr__(self) -> str:
        return f"PlanarPhotoSequence(seed={self.config.seed}, wall={self.wall_distance:.1f} m)"

    def __len__(self) -> int:
        return self.config.frames

    def T_world_cam(self, index: int) -> np.ndarray:
        pose = self.path.T_world_cam(index / self.config.camera_rate_hz)
        pose[:3, 3] *= self.path_scale
        return pose

    def poses(self) -> list[np.ndarray]:
        return [self.T_world_cam(i) for i in range(len(self))]

    def __getitem__(self, index: int) -> Frame:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range for a sequence of {len(self)} frames")
        if index not in self._frames:
            pose = self.T_world_cam(index)
            view = self.renderer.render(pose)
            stamp = _START_NS + round(index * 1e9 / self.config.camera_rate_hz)
            self._frames[index] = Frame(stamp, view.rgb, self.camera, view.depth, pose)
        return self._frames[index]

    def __iter__(self) -> Iterator[Frame]:
        return (self[i] for i in range(len(self)))
