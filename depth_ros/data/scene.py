"""Synthetic scenes: textured axis-aligned boxes in a z-up world (metres), static or moving.

A scene is a list of :class:`Box` objects. A solid box is seen from outside (buildings, furniture,
cars, the ground slab); an ``inward`` box is a shell seen from inside (the walls, floor and ceiling of
a room). Each box face carries a texture id, a texel size in metres and a constant Lambertian shade,
so a surface point looks the same from every view (the photometric assumption holds exactly).

The world is the odometry frame (``odom``, REP 105): x forward along the corridor, y left, z up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

_SUN = np.array([0.4, 0.25, 0.88]) / np.linalg.norm([0.4, 0.25, 0.88])  # direction towards the light
_AMBIENT = 0.55

# Face order: (-x, +x, -y, +y, -z, +z); for face f, its axis is f // 2 and its side f % 2 (0 = lo, 1 = hi).
# Texture axes per face axis: s along the first in-plane axis, t along the second (z points down the
# texture on vertical faces, so photographs stand upright).
_IN_PLANE_AXES = ((1, 2), (0, 2), (0, 1))


@dataclass
class Box:
    """An axis-aligned box; ``lo``/``hi`` are its corners at time 0 (metres, world frame)."""

    lo: np.ndarray
    hi: np.ndarray
    textures: np.ndarray  # (6,) texture id per face
    texel_size: float = 0.01  # metres per texel at mip level 0
    inward: bool = False
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # m/s, for linear motion
    sway: np.ndarray = field(default_factory=lambda: np.zeros(3))  # m, amplitude of a sinusoidal motion
    sway_period: float = 1.0  # s

    @property
    def moving(self) -> bool:
        """Whether the box moves independently of the world."""
        return bool(np.any(self.velocity) or np.any(self.sway))

    def offset_at(self, time_s: float) -> np.ndarray:
        """(3,) displacement of the box at ``time_s`` seconds, metres."""
        return self.velocity * time_s + self.sway * np.sin(2 * np.pi * time_s / self.sway_period)


@dataclass
class Scene:
    """Boxes plus a sky seen where no box is hit (infinitely far: depth +inf per REP 117)."""

    name: str
    boxes: list[Box]
    sky_horizon: tuple[float, float, float] = (200.0, 215.0, 230.0)
    sky_zenith: tuple[float, float, float] = (90.0, 135.0, 205.0)

    def faces(self) -> FaceTable:
        """All box faces at time 0 as arrays (one row per face); move them with :meth:`FaceTable.at`."""
        return FaceTable.build(self.boxes)


@dataclass
class FaceTable:
    """Axis-aligned rectangles, one row per face, in the layout the renderer consumes.

    Attributes:
        axis: (F,) axis the face is normal to (0, 1, 2 = x, y, z).
        plane: (F,) coordinate of the face plane along ``axis``, metres.
        facing: (F,) +1 if the face is seen from the side of larger ``axis`` coordinates, -1 otherwise.
        bounds: (F, 2, 2) ``[[a_min, a_max], [b_min, b_max]]`` along the two in-plane axes.
        corners: (F, 4, 3) corner points, metres.
        texture, texel_size, shade, box_index, moving: per-face texturing and bookkeeping.
        tex_origin: (F, 2) world coordinates of texel (0, 0) along the in-plane axes.
        t_sign: (F,) -1 where the texture's t axis runs down the world z axis (vertical faces), else +1.
    """

    axis: np.ndarray
    plane: np.ndarray
    facing: np.ndarray
    bounds: np.ndarray
    corners: np.ndarray
    texture: np.ndarray
    texel_size: np.ndarray
    shade: np.ndarray
    box_index: np.ndarray
    moving: np.ndarray
    tex_origin: np.ndarray
    t_sign: np.ndarray

    @classmethod
    def build(cls, boxes: list[Box]) -> FaceTable:
        """Faces of ``boxes`` at time 0, six per box in the order (-x, +x, -y, +y, -z, +z)."""
        rows: dict[str, list] = {name: [] for name in cls.__dataclass_fields__}
        for index, box in enumerate(boxes):
            lo, hi, moving = box.lo, box.hi, box.moving
            for face in range(6):
                axis, side = divmod(face, 2)
                a, b = _IN_PLANE_AXES[axis]
                outward = 1.0 if side else -1.0
                facing = -outward if box.inward else outward
                plane = hi[axis] if side else lo[axis]
                normal = np.zeros(3)
                normal[axis] = facing
                corner = np.empty((4, 3))
                corner[:, axis] = plane
                corner[:, a] = [lo[a], hi[a], hi[a], lo[a]]
                corner[:, b] = [lo[b], lo[b], hi[b], hi[b]]
                vertical = axis != 2
                rows["axis"].append(axis)
                rows["plane"].append(plane)
                rows["facing"].append(facing)
                rows["bounds"].append([[lo[a], hi[a]], [lo[b], hi[b]]])
                rows["corners"].append(corner)
                rows["texture"].append(box.textures[face])
                rows["texel_size"].append(box.texel_size)
                rows["shade"].append(_AMBIENT + (1 - _AMBIENT) * max(0.0, float(normal @ _SUN)))
                rows["box_index"].append(index)
                rows["moving"].append(moving)
                # Texture anchored to the box (moves with it); t runs down vertical faces.
                rows["tex_origin"].append([lo[a], hi[b] if vertical else lo[b]])
                rows["t_sign"].append(-1.0 if vertical else 1.0)
        return cls(**{name: np.asarray(values) for name, values in rows.items()})

    def moved(self, box_offsets: np.ndarray) -> FaceTable:
        """These faces with box ``i`` displaced by ``box_offsets[i]`` ((B, 3) metres)."""
        offset = box_offsets[self.box_index]  # (F, 3)
        in_plane = np.array(_IN_PLANE_AXES)[self.axis]  # (F, 2)
        in_plane_offset = np.take_along_axis(offset, in_plane, axis=1)  # (F, 2)
        return dataclasses.replace(
            self,
            plane=self.plane + np.take_along_axis(offset, self.axis[:, None], axis=1)[:, 0],
            bounds=self.bounds + in_plane_offset[:, :, None],
            corners=self.corners + offset[:, None, :],
            tex_origin=self.tex_origin + in_plane_offset,
        )


def _box(rng: np.random.Generator, lo, hi, texture_count: int, **kwargs) -> Box:
    """A box with one random texture on its sides and (often) another on top and bottom."""
    side, top = rng.integers(texture_count, size=2)
    textures = np.array([side, side, side, side, top, top])
    return Box(np.asarray(lo, float), np.asarray(hi, float), textures, **kwargs)


def room_scene(rng: np.random.Generator, texture_count: int, moving_objects: int = 1) -> Scene:
    """A 10 x 8 x 3 m room centred on the origin: a pillar in the middle, furniture along the walls.

    The ring between 0.6 m and 2.9 m from the centre is kept clear for orbiting cameras; moving boxes
    slide along x at y = +-3.3 m.
    """
    shell = Box(
        np.array([-5.0, -4.0, 0.0]),
        np.array([5.0, 4.0, 3.0]),
        rng.integers(texture_count, size=6),
        texel_size=0.012,
        inward=True,
    )
    boxes = [shell, _box(rng, [-0.4, -0.4, 0.0], [0.4, 0.4, 2.2], texture_count, texel_size=0.004)]
    for wall_side in range(4):
        for _ in range(int(rng.integers(1, 3))):
            size = rng.uniform([0.5, 0.5, 0.4], [1.5, 1.0, 2.2])
            along = rng.uniform(-3.0, 3.0)
            if wall_side < 2:  # against x = -5 or x = 5
                x = -4.99 + size[1] / 2 if wall_side == 0 else 4.99 - size[1] / 2
                centre, half = np.array([x, along * 0.8]), np.array([size[1], size[0]]) / 2
            else:  # against y = -4 or y = 4
                y = -3.99 + size[1] / 2 if wall_side == 2 else 3.99 - size[1] / 2
                centre, half = np.array([along, y]), size[:2] / 2
            boxes.append(
                _box(rng, [*(centre - half), 0.0], [*(centre + half), size[2]], texture_count, texel_size=0.004)
            )
    for index in range(moving_objects):
        y = 3.3 if index % 2 == 0 else -3.3
        boxes.append(
            _box(
                rng,
                [-0.3, y - 0.3, 0.0],
                [0.3, y + 0.3, 0.9],
                texture_count,
                texel_size=0.003,
                sway=np.array([rng.uniform(1.0, 2.5), 0.0, 0.0]),
                sway_period=rng.uniform(3.0, 6.0),
            )
        )
    return Scene("room", boxes)


def corridor_scene(rng: np.random.Generator, texture_count: int, length: float, moving_objects: int = 2) -> Scene:
    """A street along +x: ground, buildings on both sides from x = -30 m to ``length`` + 150 m, sky above.

    The street is 12 m wide between building fronts (y = -6 .. 6); the camera drives along y = 0.
    Moving objects are box "cars" in lanes at y = +-3.5 m.
    """
    x_end = length + 150.0
    boxes = [
        Box(
            np.array([-60.0, -80.0, -1.0]),
            np.array([x_end + 60.0, 80.0, 0.0]),
            np.full(6, rng.integers(texture_count)),
            texel_size=0.01,
        )
    ]
    for side in (-1.0, 1.0):
        x = -30.0
        while x < x_end:
            width = rng.uniform(5.0, 14.0)
            depth = rng.uniform(6.0, 12.0)
            height = rng.uniform(4.0, 16.0)
            front = 6.0 + rng.uniform(0.0, 1.5)
            y0, y1 = sorted((side * front, side * (front + depth)))
            boxes.append(_box(rng, [x, y0, 0.0], [x + width, y1, height], texture_count, texel_size=0.012))
            x += width + rng.uniform(0.0, 3.0)
    for index in range(moving_objects):
        lane = 3.5 if index % 2 == 0 else -3.5
        x0 = rng.uniform(5.0, 25.0)
        speed = rng.uniform(1.5, 4.0) * (1 if lane < 0 else -1)
        boxes.append(
            _box(
                rng,
                [x0 - 2.0, lane - 0.9, 0.0],
                [x0 + 2.0, lane + 0.9, 1.5],
                texture_count,
                texel_size=0.004,
                velocity=np.array([speed, 0.0, 0.0]),
            )
        )
    return Scene("corridor", boxes)
