"""The ``depth-ros`` console script, run as a user runs it (a subprocess of the installed entry point).

Success paths write real bags and PNGs; error paths must exit with status 2 and print exactly one
``error: ...`` line on stderr, never a Python traceback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bag_data_file, copy_truncated

from depth_ros.data.bag_reader import BagReader

SMALL = ["--frames", "5", "--width", "64", "--height", "48", "--quiet"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def console_script() -> str:
    """The installed ``depth-ros`` entry point (on PATH, or next to this interpreter in the venv)."""
    beside = Path(sys.executable).parent / "depth-ros"
    found = shutil.which("depth-ros") or (str(beside) if beside.exists() else None)
    assert found, "the depth-ros console script is not installed (pip install -e .)"
    return found


def depth_ros(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Status 2, one ``error:`` line on stderr naming ``fragments``, no traceback; returns the line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def cli_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bag made by ``depth-ros make-sample`` (mcap, 5 frames of 64x48). Do not modify it."""
    out = tmp_path_factory.mktemp("cli") / "sample"
    result = depth_ros("make-sample", out, *SMALL)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """An output folder after one ``depth-ros demo --frames 5`` run, and that run. Do not modify it."""
    out = tmp_path_factory.mktemp("demo") / "out"
    return out, depth_ros("demo", "--out", out, "--frames", "5", cwd=out.parent)


def test_console_script_is_installed() -> None:
    result = depth_ros("--help")
    assert result.returncode == 0
    for command in ("demo", "make-sample", "preview"):
        assert command in result.stdout


def test_verbose_shows_what_depth_ros_chooses() -> None:
    """``depth-ros -v``: depth_ros's INFO lines (here, which engine runs what) on stderr; without it, none."""
    weights = Path(__file__).resolve().parents[1] / "weights" / "mvdepthnet_lite.pt"
    bench = ["bench", "--model", "mvdepthnet", "--weights", str(weights), "--iterations", "2"]
    runs = {
        flag: subprocess.run([sys.executable, "-m", "depth_ros.cli", *flag, *bench], capture_output=True, text=True)
        for flag in [(), ("-v",)]
    }
    assert all(run.returncode == 0 for run in runs.values()), runs
    assert "using onnxruntime cpu fp32" not in runs[()].stderr
    assert "using onnxruntime cpu fp32" in runs[("-v",)].stderr, runs[("-v",)].stderr


def test_make_sample_writes_an_mcap_bag(cli_bag: Path) -> None:
    assert bag_data_file(cli_bag).suffix == ".mcap"
    reader = BagReader(cli_bag)
    frames = reader.read_all()
    assert len(frames) == 5
    assert frames[0].rgb.shape == (48, 64, 3)
    assert frames[0].depth.shape == (48, 64)
    assert all(f.T_world_cam is not None for f in frames)
    assert reader.extrinsic_source == "tf_static"


def test_make_sample_sqlite3(tmp_path: Path) -> None:
    out = tmp_path / "sample_db"
    result = depth_ros("make-sample", out, *SMALL, "--storage", "sqlite3")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "sqlite3" in result.stdout
    assert result.stderr == ""  # --quiet: no progress bar
    assert bag_data_file(out).suffix == ".db3"
    frames = BagReader(out).read_all()
    assert [f.rgb.shape for f in frames] == [(48, 64, 3)] * 5


def test_preview_writes_a_png(cli_bag: Path, tmp_path: Path) -> None:
    png = tmp_path / "nested" / "preview.png"
    result = depth_ros("preview", cli_bag, "--out", png)
    assert result.returncode == 0, result.stderr
    assert f"wrote {png}" in result.stdout
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 1000


def test_preview_of_missing_bag_is_a_clean_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    result = depth_ros("preview", missing, "--out", tmp_path / "x.png")
    assert_clean_error(result, "not found", str(missing))
    assert not (tmp_path / "x.png").exists()


def test_make_sample_onto_existing_out_is_a_clean_error(cli_bag: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    shutil.copytree(cli_bag, existing)
    before = {p.name: p.read_bytes() for p in existing.iterdir()}
    result = depth_ros("make-sample", existing, *SMALL)
    assert_clean_error(result, "already exists", str(existing))
    assert {p.name: p.read_bytes() for p in existing.iterdir()} == before


def test_make_sample_with_zero_frames_is_a_clean_error(tmp_path: Path) -> None:
    result = depth_ros("make-sample", tmp_path / "zero", "--frames", "0", "--quiet")
    assert_clean_error(result, "frames")
    assert not (tmp_path / "zero").exists()


@pytest.mark.parametrize("size", [("100000", "100000"), ("4097", "48"), ("64", "0")])
def test_make_sample_of_an_absurd_image_size_is_a_clean_error(tmp_path: Path, size: tuple[str, str]) -> None:
    result = depth_ros("make-sample", tmp_path / "bag", "--width", size[0], "--height", size[1], "--quiet")
    assert_clean_error(result, "must be 1 to 4096 pixels a side", f"got {size[0]}x{size[1]}")
    assert not (tmp_path / "bag").exists()


def test_bad_demo_and_sample_settings_are_clean_errors(tmp_path: Path) -> None:
    result = depth_ros("demo", "--out", tmp_path / "demo", "--frames", "0", "--offline")
    assert_clean_error(result, "frames must be >= 1")
    result = depth_ros("make-sample", tmp_path / "bag", "--moving-objects", "-1", "--quiet")
    assert_clean_error(result, "--moving-objects must be >= 0")
    assert not (tmp_path / "demo" / "sample_bag").exists() and not (tmp_path / "bag").exists()


@pytest.mark.parametrize("where", ["demo_out", "export_out"])
def test_an_output_folder_that_is_a_file_is_a_clean_error(tmp_path: Path, where: str) -> None:
    in_the_way = tmp_path / "taken"
    in_the_way.write_text("keep me")
    if where == "demo_out":
        result = depth_ros("demo", "--out", in_the_way, "--frames", "2", "--offline")
    else:
        weights = Path(__file__).parents[1] / "weights" / "mvdepthnet_lite.pt"
        result = depth_ros("export", "mvdepthnet", "--weights", weights, "--out", in_the_way / "model.onnx")
    # demo: "taken/sample_bag: taken is a file, not a folder"; export: "taken already exists and is a file"
    assert_clean_error(result, str(in_the_way), "is a file")
    assert in_the_way.read_text() == "keep me"


def test_file_system_error_lines_name_the_paths_involved(tmp_path: Path) -> None:
    from depth_ros.cli import _is_file_system_error, _os_error_line

    missing, destination = tmp_path / "missing", tmp_path / "dest.pt"
    with pytest.raises(OSError) as caught:
        os.replace(missing, destination)
    assert _os_error_line(caught.value) == f"No such file or directory: {missing} -> {destination}"
    existing = tmp_path / "model.onnx"
    existing.write_text("")
    with pytest.raises(FileExistsError) as caught:
        existing.open("x").close()  # an exclusive create: no folder involved
    assert _os_error_line(caught.value) == f"{existing} already exists and is a file"
    assert _is_file_system_error(caught.value)
    assert not _is_file_system_error(ConnectionResetError(errno.ECONNRESET, "reset"))  # a bug: not hidden


def test_output_into_a_closed_pipe_is_not_an_error_report(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "depth_ros.cli", "make-sample", tmp_path / "bag", "--frames", "2", "--quiet"]
    process = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # as `depth-ros ... | head -0` would
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1 and stderr == "", stderr
    assert (tmp_path / "bag" / "metadata.yaml").is_file()  # the work itself was done


def test_an_export_file_that_is_a_folder_is_named_in_the_error(tmp_path: Path) -> None:
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    weights = Path(__file__).parents[1] / "weights" / "mvdepthnet_lite.pt"
    result = depth_ros("export", "mvdepthnet", "--weights", weights, "--out", folder)
    assert_clean_error(result, f"--out {folder} is a folder: name the file to write")
    assert folder.is_dir() and not list(folder.iterdir()) and not list(tmp_path.glob(".*.tmp"))


def test_preview_of_truncated_bag_is_a_clean_error(cli_bag: Path, tmp_path: Path) -> None:
    bag = copy_truncated(cli_bag, tmp_path / "cut")
    result = depth_ros("preview", bag, "--out", tmp_path / "x.png")
    assert_clean_error(result, "truncated or corrupt", str(bag))


@pytest.mark.parametrize("kind", ["empty folder", "folder without metadata.yaml"])
def test_preview_of_folder_that_is_not_a_bag_is_a_clean_error(cli_bag: Path, tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    if kind == "folder without metadata.yaml":
        shutil.copy(bag_data_file(cli_bag), folder)
    result = depth_ros("preview", folder, "--out", tmp_path / "x.png")
    assert_clean_error(result, str(folder))


def test_preview_with_wrong_image_topic_is_a_clean_error(cli_bag: Path, tmp_path: Path) -> None:
    result = depth_ros("preview", cli_bag, "--out", tmp_path / "x.png", "--image-topic", "/front/image")
    assert_clean_error(result, "'/front/image'", "/camera/image_raw [sensor_msgs/msg/Image]")


def test_demo_generates_the_sample_bag_and_preview(demo_dir) -> None:
    out, result = demo_dir
    assert result.returncode == 0, result.stderr
    assert "generating the sample bag" in result.stdout
    assert "reusing" not in result.stdout
    assert len(BagReader(out / "sample_bag").read_all()) == 5
    assert (out / "sample_preview.png").read_bytes()[:8] == PNG_MAGIC
    # both models evaluated offline and through the live nodes over DDS, with the same numbers
    models = json.loads((out / "report" / "metrics.json").read_text())["models"]
    assert set(models) == {"mono", "multiview", "live mono", "live multiview"}
    assert models["mono"]["frames_evaluated"] == 5
    assert models["live mono"]["median_scaled"] == pytest.approx(models["mono"]["median_scaled"], rel=1e-5)
    assert (out / "report" / "report.md").is_file() and "abs_rel" in result.stdout


def test_demo_second_run_reuses_the_cached_bag(demo_dir) -> None:
    out, first = demo_dir
    assert first.returncode == 0, first.stderr
    bag_file = bag_data_file(out / "sample_bag")
    before = (bag_file.stat().st_mtime_ns, bag_file.read_bytes())
    result = depth_ros("demo", "--out", out, "--frames", "5", cwd=out.parent)
    assert result.returncode == 0, result.stderr
    assert "reusing" in result.stdout
    assert "generating" not in result.stdout
    assert (bag_file.stat().st_mtime_ns, bag_file.read_bytes()) == before


def _corrupt(bag: Path, how: str) -> None:
    if how == "truncated":
        data = bag_data_file(bag)
        with data.open("r+b") as handle:
            handle.truncate(data.stat().st_size // 2)
    elif how == "metadata.yaml deleted":
        (bag / "metadata.yaml").unlink()
    else:  # "empty folder"
        shutil.rmtree(bag)
        bag.mkdir()


@pytest.mark.parametrize("how", ["truncated", "metadata.yaml deleted", "empty folder"])
def test_demo_regenerates_a_corrupted_cached_bag(demo_dir, tmp_path: Path, how: str) -> None:
    source, first = demo_dir
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    shutil.copytree(source, out)
    _corrupt(out / "sample_bag", how)
    result = depth_ros("demo", "--out", out, "--frames", "5", cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert "regenerating" in result.stdout
    assert "generating the sample bag" in result.stdout
    assert len(BagReader(out / "sample_bag").read_all()) == 5


def test_demo_regenerates_a_cached_bag_with_other_frame_count(demo_dir, tmp_path: Path) -> None:
    source, first = demo_dir
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    shutil.copytree(source, out)
    result = depth_ros("demo", "--out", out, "--frames", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "regenerating" in result.stdout and "has 5 frames, expected 4" in result.stdout
    assert len(BagReader(out / "sample_bag")) == 4
