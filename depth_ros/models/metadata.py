"""What a model is, in one record that travels with its weights, its ONNX file and its engine.

The runtime reads input size, normalisation, depth range and scale type from here, never from a
separate config file. Stored as JSON (in our checkpoints, in the ONNX ``metadata_props``, and in a
``.json`` beside exported files).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Architecture = Literal["monodepth2", "mvdepthnet"]
ScaleType = Literal["relative", "stereo", "metric"]
ChannelOrder = Literal["rgb", "bgr"]
CHANNEL_ORDERS: tuple[str, ...] = get_args(ChannelOrder)
SweepGrid = Literal["published", "exact"]
SWEEP_GRIDS: tuple[str, ...] = get_args(SweepGrid)
METADATA_KEY = "depth_ros.model"
# Smallest input side: Monodepth2's 1-pixel reflection pad needs 2-pixel feature maps at 1/32.
SMALLEST_INPUT = {"monodepth2": 64, "mvdepthnet": 32}


@dataclass(frozen=True)
class ModelMetadata:
    """Everything needed to rebuild, feed and interpret a depth network.

    Attributes:
        architecture: ``monodepth2`` or ``mvdepthnet``.
        variant: constructor arguments of the network (e.g. ``{"num_layers": 18, "width": 1.0}``).
        height, width: network input size in pixels (multiples of 32).
        mean, std, value_range: input normalisation ``(x / value_range - mean) / std`` of colour values x in
            [0, 255]: Monodepth2 (0.45, 0.225, 255), MVDepthNet (81, 35, 1).
        channel_order: the order of colour channels the network's weights expect, ``rgb`` or ``bgr``. Inputs
            are always RGB; the inference graph reorders them for ``bgr`` weights. Published MVDepthNet files
            are ``bgr`` (the authors' example feeds ``cv2.imread`` images); published Monodepth2 folders and
            our trainer's checkpoints are ``rgb`` (the default, also for metadata written without the key).
        min_depth, max_depth: output depth range in metres.
        scale_type: ``relative`` (up to an unknown scale: monocular training), ``stereo`` (metric after
            multiplying by ``scale_factor``), or ``metric``.
        scale_factor: multiplier that makes ``stereo`` depth metric (e.g. 5.4 for KITTI Monodepth2 models).
        planes: cost-volume planes (MVDepthNet only).
        measurement_frames: measurement images an exported MVDepthNet graph takes (0 = not fixed).
        sweep_grid: MVDepthNet only: how the cost volume maps pixels to ``grid_sample`` coordinates
            (:func:`depth_ros.models.mvdepthnet.sampling_grid`): ``published`` (MVDepthNet's own convention, up to a
            pixel off at the far edges: published weights, and metadata written without the key) or ``exact``
            (pixel centres exactly: what our trainer writes since the objects-family weights).
        source: where the weights came from (a path, a training run).
    """

    architecture: Architecture
    variant: dict[str, Any] = field(default_factory=dict)
    height: int = 192
    width: int = 640
    mean: float = 0.45
    std: float = 0.225
    value_range: float = 255.0
    min_depth: float = 0.1
    max_depth: float = 100.0
    scale_type: ScaleType = "relative"
    scale_factor: float = 1.0
    planes: int = 0
    measurement_frames: int = 0
    source: str = ""
    channel_order: ChannelOrder = "rgb"
    sweep_grid: SweepGrid = "published"

    def __post_init__(self) -> None:
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(
                f"channel_order must be one of {', '.join(CHANNEL_ORDERS)} (the colour order the weights expect), "
                f"got {self.channel_order!r}"
            )
        if self.sweep_grid not in SWEEP_GRIDS:
            raise ValueError(
                f"sweep_grid must be one of {', '.join(SWEEP_GRIDS)} (MVDepthNet's cost-volume sampling), "
                f"got {self.sweep_grid!r}"
            )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        """The metadata written by :meth:`to_json` (unknown keys ignored, missing ones at their defaults).

        Raises:
            ValueError: not JSON, fields whose values are not of their defaults' types (a number for a float), or
                a ``channel_order`` other than ``rgb`` or ``bgr``.
        """
        values = json.loads(text)
        metadata = cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})
        wrong = metadata._mistyped_fields()
        if wrong:
            raise ValueError(f"wrong types ({', '.join(wrong)})")
        return metadata

    def _mistyped_fields(self) -> list[str]:
        """``name=value`` of each field whose value is not of its default's type (a number for a float field)."""
        defaults = ModelMetadata(architecture="monodepth2")
        wrong = []
        for name in self.__dataclass_fields__:
            value, default = getattr(self, name), getattr(defaults, name)
            allowed = (int, float) if isinstance(default, float) else type(default)
            if isinstance(value, bool) or not isinstance(value, allowed):
                wrong.append(f"{name}={value!r}")
        return wrong

    def replace(self, **changes: Any) -> ModelMetadata:
        """A copy with some fields changed; the input size must stay a valid size for the architecture."""
        values = asdict(self)
        values.update(changes)
        check_input_size(values["architecture"], values["height"], values["width"])
        return ModelMetadata(**values)


def check_input_size(architecture: str, height: int, width: int) -> None:
    """Network inputs are multiples of 32 (five stride-2 stages) and at least :data:`SMALLEST_INPUT`."""
    smallest = SMALLEST_INPUT.get(architecture, 32)
    if height % 32 or width % 32 or height < smallest or width < smallest:
        raise ValueError(
            f"{architecture} input size must be multiples of 32 and at least {smallest}, "
            f"got width {width} x height {height}"
        )
