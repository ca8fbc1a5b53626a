"""The ``objects`` scene family: random primitives, a random world scale, random cameras and 6-DoF motion.

DeMoN's "Scenes11" idea: where nothing about a scene's look tells its size, geometry (the baseline and
the parallax it makes) is the only way to metric depth. Per sequence (all drawn from the seed):

* **Scene**: a closed room (an inward box at a random orientation, so every pixel has a depth) holding
  4-14 objects at random depths in front of the camera: boxes at random orientations, spheres and slanted
  rectangles; textures are the shipped photographs, procedural patterns or flat colours with noise (one
  pool, :func:`objects_atlas`), each at a random texel size; one random light.
* **World scale**: the whole scene and the camera path are built in canonical units (objects 2.2-9 units
  away, walls 2.5-14) and multiplied by a scale log-uniform in ``scale_range`` (0.25-4 by default): the images
  do not change, the depths and translations do.
* **Camera**: horizontal field of view 45-110 degrees, principal point up to 10% off centre, image aspect
  0.75-2.0 (a given ``width``/``height`` fixes the size instead).
* **Motion**: any direction (forward, backwards, sideways, up and down: three sinusoids along random
  orthogonal axes plus a drift) with a sinusoidal rotation of up to about 8 degrees per axis; the camera
  stays within 1.4 canonical units of its start, clear of every object.
* **Camera response**: a tone curve (gamma 0.8-1.25) and mean exposure (x0.7-1.4) per sequence, and per frame an
  exposure drift of 5%, noise and slight blur (:class:`~depth_ros.data.camera_response.CameraResponse`).

Frames are :class:`~depth_ros.data.sample.Frame`: uint8 RGB, exact depth (metres along the optical axis),
``T_world_cam`` (optical frame, REP 103). Rendered frames are kept in memory (they are small), so epochs
after the first cost no rendering.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from depth_ros.data.camera_response import CameraResponse
from depth_ros.data.primitives import PrimitiveRenderer, PrimitiveScene, Quad, Sphere, lambert
from depth_ros.data.sample import Frame
from depth_ros.data.textures import TEXTURE_SIZE, TextureAtlas, photo_textures, procedural_textures
from depth_ros.geometry import PinholeCamera, axis_angle_to_matrix, make_transform

_CLEARANCE = 1.7  # canonical units: no object surface is nearer than this to the camera's start
_START_NS = 1_700_000_000_000_000_000


@dataclass(frozen=True)
class ObjectsConfig:
    """One ``objects`` sequence; the same config gives the same bytes.

    Attributes:
        seed: draws everything (scene, scale, camera, motion, response).
        frames: camera frames, at ``camera_rate_hz``.
        width, height: image size in pixels; 0 draws an aspect of 0.75-2.0 at about ``pixels`` pixels.
        pixels: image area when the size is drawn.
        scale_range: (low, high) of the log-uniform world scale; ``world_scale`` fixes it instead.
        camera_rate_hz: frame rate (the motion is in seconds).
    """

    seed: int = 0
    frames: int = 30
    width: int = 0
    height: int = 0
    pixels: int = 160 * 120
    scale_range: tuple[float, float] = (0.25, 4.0)
    world_scale: float | None = None
    camera_rate_hz: float = 10.0

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if (self.width > 0) != (self.height > 0) or self.width < 0 or self.height < 0:
            raise ValueError(f"give both width and height (> 0) or neither, got {self.width}x{self.height}")
        low, high = self.scale_range
        if not 0 < low <= high or (self.world_scale is not None and not self.world_scale > 0):
            raise ValueError(f"world scales must be positive, got {self.scale_range} and {self.world_scale}")


@functools.cache
def objects_atlas() -> TextureAtlas:
    """The family's texture pool, built once per process: the photographs, four draws of the procedural
    patterns and eight flat colours with faint noise (low-texture surfaces). Sequences pick from it."""
    rng = np.random.default_rng(0x7E7)
    procedural = [texture for _ in range(4) for texture in procedural_textures(rng)]
    flat = [
        np.clip(rng.uniform(30, 230, size=3) + rng.normal(0, 4, size=(TEXTURE_SIZE, TEXTURE_SIZE, 1)), 0, 255).astype(
            np.uint8
        )
        for _ in range(4)
    ]
    return TextureAtlas(photo_textures(rng) + procedural + flat)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) rotation uniform on SO(3) (a normalised Gaussian quaternion)."""
    x, y, z, w = rng.standard_normal(4) / 1.0
    norm = np.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def box_quads(
    centre: np.ndarray, rotation: np.ndarray, half: np.ndarray, textures, texel_size: float, light, inward: bool
) -> list[Quad]:
    """The six faces of a box (``rotation``'s columns are its axes, ``half`` (3,) its half extents), facing out
    (a solid box) or in (a room)."""
    quads = []
    for axis in range(3):
        a, b = (axis + 1) % 3, (axis + 2) % 3
        for sign in (-1.0, 1.0):
            outward = sign * rotation[:, axis]
            s_axis, t_axis = rotation[:, a], rotation[:, b]
            if np.cross(s_axis, t_axis) @ outward < 0:
                s_axis = -s_axis
            if inward:
                s_axis = -s_axis
            normal = -outward if inward else outward
            quads.append(
                Quad(
                    centre + sign * half[axis] * rotation[:, axis],
                    np.stack([s_axis, t_axis]),
                    np.array([half[a], half[b]]),
                    int(textures[len(quads) % len(textures)]),
                    texel_size,
                    float(lambert(normal, light)),
                )
            )
    return quads


def _texel(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(0.002), np.log(0.015))))


def objects_scene(rng: np.random.Generator, texture_count: int) -> PrimitiveScene:
    """A canonical-unit scene around a camera at the origin looking along +z (optical frame)."""
    light = rng.standard_normal(3)
    light /= np.linalg.norm(light)
    room_rotation = axis_angle_to_matrix(np.array([0.0, rng.uniform(-np.pi, np.pi), 0.0])) @ axis_angle_to_matrix(
        rng.normal(0.0, 0.08, size=3)
    )
    room_half = rng.uniform(5.0, 14.0, size=3)
    room_half[1] = rng.uniform(3.0, 8.0)  # height (optical y is down)
    shift = rng.uniform(-1.0, 1.0, size=3) * (room_half - 2.5)  # the camera stays >= 2.5 units from the walls
    room = box_quads(
        room_rotation @ shift,
        room_rotation,
        room_half,
        rng.integers(texture_count, size=6),
        _texel(rng),
        light,
        inward=True,
    )
    quads: list[Quad] = list(room)
    spheres: list[Sphere] = []
    for _ in range(int(rng.integers(4, 15))):
        direction = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-0.7, 0.7), 1.0])
        distance = float(np.exp(rng.uniform(np.log(_CLEARANCE + 0.5), np.log(9.0))))
        centre = distance * direction / np.linalg.norm(direction)
        room_local = room_rotation.T @ centre - shift
        if np.any(np.abs(room_local) > room_half - 0.3):
            continue  # outside the room
        kind = rng.choice(["box", "box", "sphere", "plane"])
        room_for_it = distance - _CLEARANCE  # largest bounding radius that keeps the camera clear
        if kind == "sphere":
            radius = min(float(rng.uniform(0.25, 1.2)), room_for_it)
            spheres.append(
                Sphere(centre, radius, random_rotation(rng)[:2], int(rng.integers(texture_count)), _texel(rng))
            )
            continue
        if kind == "box":
            half = rng.uniform(0.15, 1.2, size=3)
            half *= min(1.0, room_for_it / np.linalg.norm(half))
            quads += box_quads(
                centre, random_rotation(rng), half, rng.integers(texture_count, size=6), _texel(rng), light, False
            )
            continue
        half = rng.uniform(0.4, 2.5, size=2)
        half *= min(1.0, room_for_it / np.linalg.norm(half))
        axes = random_rotation(rng)[:2]
        if np.cross(axes[0], axes[1]) @ centre > 0:  # face the camera's start
            axes = axes[::-1].copy()
        normal = np.cross(axes[0], axes[1])
        quads.append(
            Quad(centre, axes, half, int(rng.integers(texture_count)), _texel(rng), float(lambert(normal, light)))
        )
    return PrimitiveScene(tuple(quads), tuple(spheres), light)


@dataclass(frozen=True)
class CameraPath:
    """Smooth 6-DoF motion in canonical units: ``T_world_cam(t)`` for ``t`` in seconds.

    Position: three sinusoids along orthogonal axes (amplitudes summing to 0.3-0.9, 0.15-0.5 Hz) plus a drift of at
    most 0.5 over ``duration``; rotation: the start orientation times a rotation vector of three sinusoids of
    up to 8 degrees each.
    """

    start: np.ndarray  # (3, 3) orientation at t = 0 (the optical frame looks along its third column)
    axes: np.ndarray  # (3, 3) directions of the sinusoids (rows)
    amplitude: np.ndarray  # (3,) units
    frequency: np.ndarray  # (3,) Hz
    phase: np.ndarray  # (3,) rad
    drift: np.ndarray  # (3,) units per second
    turn_amplitude: np.ndarray  # (3,) rad
    turn_frequency: np.ndarray  # (3,) Hz
    turn_phase: np.ndarray  # (3,) rad

    @classmethod
    def draw(cls, rng: np.random.Generator, duration: float) -> CameraPath:
        weights = rng.dirichlet(np.ones(3))
        return cls(
            start=axis_angle_to_matrix(rng.normal(0.0, 0.12, size=3)),
            axes=random_rotation(rng),
            amplitude=rng.uniform(0.3, 0.9) * weights,
            frequency=rng.uniform(0.15, 0.5, size=3),
            phase=rng.uniform(0.0, 2 * np.pi, size=3),
            drift=_unit(rng) * rng.uniform(0.0, 0.5) / max(duration, 1e-3),
            turn_amplitude=np.deg2rad(rng.uniform(0.0, 8.0, size=3)),
            turn_frequency=rng.uniform(0.15, 0.5, size=3),
            turn_phase=rng.uniform(0.0, 2 * np.pi, size=3),
        )

    def T_world_cam(self, time_s: float) -> np.ndarray:
        """(4, 4) pose of the optical frame in canonical units; the start pose faces the scene's +z."""
        wave = np.sin(2 * np.pi * self.frequency * time_s + self.phase)
        position = (self.amplitude * wave) @ self.axes + self.drift * time_s
        turn = self.turn_amplitude * np.sin(2 * np.pi * self.turn_frequency * time_s + self.turn_phase)
        return make_transform(self.start @ axis_angle_to_matrix(turn), position)


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(3)
    return v / np.linalg.norm(v)


def random_camera(rng: np.random.Generator, width: int, height: int, pixels: int) -> PinholeCamera:
    """Field of view 45-110 degrees, principal point up to 10% off centre; a drawn size when ``width`` is 0."""
    if width <= 0:
        aspect = float(np.exp(rng.uniform(np.log(0.75), np.log(2.0))))
        width = max(32, round(np.sqrt(pixels * aspect)))
        height = max(32, round(width / aspect))
    fov = np.deg2rad(rng.uniform(45.0, 110.0))
    focal = 0.5 * width / np.tan(0.5 * fov)
    cx = (width - 1) / 2 + rng.uniform(-0.1, 0.1) * width
    cy = (height - 1) / 2 + rng.uniform(-0.1, 0.1) * height
    return PinholeCamera(width, height, focal, focal, cx, cy)


class ObjectsSequence:
    """Frames of one ``objects`` sequence (a :class:`~depth_ros.data.sequence.FrameSequence`).

    Attributes:
        config: what made it. world_scale: metres per canonical unit. camera: the intrinsics of every frame.
        scene: the primitives, in metres. path: the camera motion, in canonical units.
    """

    def __init__(self, config: ObjectsConfig):
        self.config = config
        scene_rng, scale_rng, camera_rng, path_rng, response_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence([config.seed, 0x0B7EC7]).spawn(5)
        )
        atlas = objects_atlas()
        low, high = config.scale_range
        self.world_scale = (
            float(config.world_scale)
            if config.world_scale is not None
            else float(np.exp(scale_rng.uniform(np.log(low), np.log(high))))
        )
        self.scene = objects_scene(scene_rng, atlas.count).scaled(self.world_scale)
        self.camera = random_camera(camera_rng, config.width, config.height, config.pixels)
        self.path = CameraPath.draw(path_rng, (config.frames - 1) / config.camera_rate_hz)
        base_gain = float(np.exp(response_rng.uniform(np.log(0.7), np.log(1.4))))
        gamma = float(np.exp(response_rng.uniform(np.log(0.8), np.log(1.25))))
        self.responses = [CameraResponse.draw(response_rng, base_gain, gamma) for _ in range(config.frames)]
        self.renderer = PrimitiveRenderer(self.scene, self.camera, atlas)
        self._frames: dict[int, Frame] = {}

    def __repr__(self) -> str:
        return f"ObjectsSequence(seed={self.config.seed}, scale={self.world_scale:.2f})"

    def __len__(self) -> int:
        return self.config.frames

    def T_world_cam(self, index: int) -> np.ndarray:
        """(4, 4) pose of frame ``index`` in metres."""
        pose = self.path.T_world_cam(index / self.config.camera_rate_hz)
        pose[:3, 3] *= self.world_scale
        return pose

    def poses(self) -> list[np.ndarray]:
        """Every frame's ``T_world_cam`` without rendering."""
        return [self.T_world_cam(i) for i in range(len(self))]

    def __getitem__(self, index: int) -> Frame:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range for a sequence of {len(self)} frames")
        if index not in self._frames:
            pose = self.T_world_cam(index)
            view = self.renderer.render(pose)
            self._frames[index] = Frame(
                stamp_ns=_START_NS + round(index * 1e9 / self.config.camera_rate_hz),
                rgb=self.responses[index](view.rgb),
                camera=self.camera,
                depth=view.depth,
                T_world_cam=pose,
            )
        return self._frames[index]

    def __iter__(self) -> Iterator[Frame]:
        return (self[i] for i in range(len(self)))
