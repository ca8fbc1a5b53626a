"""TensorRT 10.x engines from depth_ros ONNX files, with a sidecar saying what they were built for.

:func:`build_engine` parses the ONNX file (parser errors reported node by node), sets the workspace memory
pool, fp16 (TensorRT 10's ``BuilderFlag.FP16``: TensorRT picks fp16 kernels where they are faster), and DLA
with GPU fallback, loads and saves the persistent timing cache beside the engine
(:func:`~depth_ros.runtime.tensorrt_platform.timing_cache_path`: repeated builds skip kernel timing), writes
the engine and its sidecar ``FILE.engine.json`` (:class:`~depth_ros.runtime.tensorrt_platform.EngineInfo`).

Import this module only where TensorRT is installed (check with
:func:`~depth_ros.runtime.tensorrt_platform.require_tensorrt` first); it is typed against ``tensorrt-stubs``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import tensorrt as trt

from depth_ros.runtime.engine import BackendError
from depth_ros.runtime.tensorrt_platform import (
    DEFAULT_WORKSPACE_MB,
    EngineInfo,
    current_platform,
    require_tensorrt,
    sha256_file,
    timing_cache_path,
    write_engine_info,
)

logger = logging.getLogger(__name__)


class EngineBuildError(BackendError):
    """An ONNX file TensorRT cannot parse, or a network it cannot build."""


def build_engine(
    onnx: Path,
    out: Path,
    *,
    fp16: bool = False,
    workspace_mb: int = DEFAULT_WORKSPACE_MB,
    dla_core: int | None = None,
) -> Path:
    """Build ``out`` (a serialized engine) and its sidecar from ``onnx`` on this machine's GPU; returns ``out``.

    Args:
        onnx: ONNX file exported by depth_ros (static input shapes; its metadata goes into the sidecar).
        out: engine file to write (replaced if it exists).
        fp16: allow fp16 kernels (required on a DLA).
        workspace_mb: workspace memory pool limit in MiB (smaller on small Jetsons).
        dla_core: run on this DLA core, layers the DLA cannot run falling back to the GPU.
    """
    require_tensorrt()
    from depth_ros.export.onnx_export import read_onnx_metadata

    onnx, out = Path(onnx), Path(out)
    if not onnx.is_file():
        raise EngineBuildError(f"ONNX file not found: {onnx}")
    if dla_core is not None and not fp16:
        raise EngineBuildError(f"DLA core {dla_core} runs fp16 or int8 only, not fp32: add --fp16")
    model = read_onnx_metadata(onnx)
    platform = current_platform(trt.__version__)
    trt_logger = trt.Logger(trt.Logger.Severity.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx)):
        errors = "; ".join(_parser_error(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"TensorRT {trt.__version__} cannot parse {onnx}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if dla_core is not None:
        _use_dla(builder, config, dla_core)
    cache_file = timing_cache_path(out, platform)
    cache = config.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    logger.info("building %s from %s with %s (takes minutes)", out.name, onnx, platform.describe())
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise EngineBuildError(f"TensorRT could not build {onnx} (see its log above); try a larger --workspace")
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(out, memoryview(plan))
    _write_atomic(cache_file, memoryview(config.get_timing_cache().serialize()))
    info = EngineInfo(
        platform=platform,
        precision="fp16" if fp16 else "fp32",
        workspace_mb=workspace_mb,
        dla_core=dla_core,
        onnx=os.path.relpath(onnx.resolve(), out.parent.resolve()),
        onnx_sha256=sha256_file(onnx),
        model=model,
    )
    write_engine_info(out, info)
    return out


def rebuild_engine(engine: Path, onnx: Path, info: EngineInfo) -> Path:
    """Build ``engine`` again from ``onnx`` with the options recorded in its sidecar ``info``."""
    return build_engine(
        onnx, engine, fp16=info.precision == "fp16", workspace_mb=info.workspace_mb, dla_core=info.dla_core
    )


def _use_dla(builder: trt.Builder, config: trt.IBuilderConfig, core: int) -> None:
    available = builder.num_DLA_cores
    if not 0 <= core < available:
        raise EngineBuildError(f"DLA core {core} asked for; this device has {available} DLA cores (0..{available - 1})")
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = core
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)


def _parser_error(error: trt.ParserError) -> str:
    node = error.node_name() or f"node {error.node()}"
    return f"{node} ({error.node_operator()}): {error.desc()}"


def _write_atomic(path: Path, data: memoryview) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
