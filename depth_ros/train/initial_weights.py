"""Start a training run from earlier weights (``init`` in the config) instead of random ones: fine-tuning.

``init`` names a depth_ros checkpoint (a run's ``model.pt`` / ``best.pt`` / ``last.pt``, or a shipped ``.pt``)
or ``shipped`` for the weights depth_ros ships for the run's architecture. Only the depth network is loaded;
the optimiser, schedule and any other network (Monodepth2's pose network) start afresh. The checkpoint must
hold the same architecture with the same layer shapes, and read its input the same way (normalisation,
channel order, MVDepthNet's sweep grid): weights trained for another convention would start wrong.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from depth_ros.errors import DepthRosError
from depth_ros.models.checkpoints import load_checkpoint, load_state_strict
from depth_ros.models.metadata import ModelMetadata
from depth_ros.resources import shipped_weights

SHIPPED = "shipped"
"""``init: shipped``: the weights depth_ros ships for the run's architecture."""

MATCHING_FIELDS = ("architecture", "mean", "std", "value_range", "channel_order", "sweep_grid")
"""Metadata the initial weights must share with the run: how the network reads its input."""


class InitialWeightsError(DepthRosError):
    """Initial weights that read their input another way than this run (see :data:`MATCHING_FIELDS`)."""


def initial_weights_path(init: str, architecture: str) -> Path:
    """The file ``init`` names for a run of ``architecture``."""
    return shipped_weights(architecture) if init == SHIPPED else Path(init).expanduser()


def load_initial_weights(network: nn.Module, metadata: ModelMetadata, init: str) -> Path:
    """Load the depth network weights ``init`` names into ``network`` (the run's, described by ``metadata``);
    return the file. Raises :class:`InitialWeightsError` naming what does not match, or
    :class:`~depth_ros.models.checkpoints.CheckpointError` for a file that is no readable checkpoint or holds
    other layers or shapes."""
    path = initial_weights_path(init, metadata.architecture)
    saved_network, saved = load_checkpoint(path)
    different = [
        f"{name} {getattr(saved, name)!r} (this run: {getattr(metadata, name)!r})"
        for name in MATCHING_FIELDS
        if getattr(saved, name) != getattr(metadata, name)
    ]
    if different:
        raise InitialWeightsError(f"init: {path} does not fit this run: {'; '.join(different)}")
    load_state_strict(network, saved_network.state_dict(), f"init: {path}")
    return path
