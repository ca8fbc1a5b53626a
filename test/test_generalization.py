"""The generalisation benchmark's parts: scene families with ground truth and poses, and the odometry-scale test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_ros.eval.evaluation import ModelResult
from depth_ros.eval.generalization import (
    FAMILIES,
    OBJECTS_TEST_SEEDS,
    SETTINGS,
    ScaledOdometryEngine,
    median_ratio,
    run_sequence,
)
from depth_ros.eval.replay import open_model
from depth_ros.resources import shipped_weights
from depth_ros.runtime.engine import example_inputs, open_engine
from depth_ros.train.config import load_config


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_gives_posed_frames_with_ground_truth(name):
    (sequence,) = FAMILIES[name].sequences(1, 2)
    assert len(sequence) == 2
    last = sequence[1]
    assert last.T_world_cam is not None and last.depth is not None
    assert np.isfinite(last.depth).mean() > 0.5 and last.depth.shape == last.rgb.shape[:2]
    baseline = np.linalg.norm(sequence[0].T_world_cam[:3, 3] - last.T_world_cam[:3, 3])
    assert baseline > 0 or name == "corridor/room"  # the street drive starts at rest


def test_no_shipped_training_config_uses_the_test_families():
    """Training and validation use objects seeds below the test seeds, and only the generators' scenes."""
    configs = sorted(Path(__file__).parents[1].joinpath("config").glob("train_*.yaml"))
    assert configs
    for path in configs:
        data = load_config(path).data
        assert set(data.scenes) <= {"corridor", "room", "objects"}, path
        for seeds in (data.seeds, data.validation_seeds):
            for i, seed in enumerate(seeds):
                scene = data.scenes[i % len(data.scenes)]
                held_out = seed >= OBJECTS_TEST_SEEDS if scene == "objects" else 1002 <= seed < 4000
                assert not held_out, (path, scene, seed)  # corridor/room test seeds: 1002+ and 3000+
    (objects,) = FAMILIES["objects"].sequences(1, 1)
    assert objects.config.seed >= OBJECTS_TEST_SEEDS


def test_scaled_odometry_engine_is_the_engine_with_scaled_translations():
    engine = open_engine(shipped_weights("mvdepthnet"), "pytorch")
    inputs = example_inputs(engine.metadata, np.random.default_rng(0))
    scaled = ScaledOdometryEngine(engine, 2.0).infer(**inputs).copy()  # infer returns the engine's buffer
    by_hand = dict(inputs, T_meas_ref=inputs["T_meas_ref"].copy())
    by_hand["T_meas_ref"][..., :3, 3] *= 2.0
    np.testing.assert_array_equal(scaled, engine.infer(**by_hand))
    assert not np.array_equal(scaled, engine.infer(**inputs))


def test_median_ratio_uses_the_pixels_both_depths_have():
    depth = np.array([[2.0, 4.0, np.nan]])
    assert median_ratio(depth, np.array([[1.0, 2.0, 7.0]])) == pytest.approx(2.0)
    assert np.isnan(median_ratio(depth, np.full((1, 3), np.nan)))


def test_run_sequence_evaluates_what_the_node_pipeline_gives():
    (sequence,) = FAMILIES["planar photos"].sequences(1, 4)
    result = ModelResult("multiview", SETTINGS)
    outputs = run_sequence(open_model("multiview", backend="pytorch").pipeline, sequence, result)
    assert 0 not in outputs  # a first frame has no keyframe to measure against
    assert len(result.frames) == len(outputs) and sum(result.skipped.values()) == 4 - len(outputs)
