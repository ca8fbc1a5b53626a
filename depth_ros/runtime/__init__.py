"""Running depth networks: one :class:`~depth_ros.runtime.engine.DepthEngine` interface, one class per backend.

* :mod:`depth_ros.runtime.engine`: the interface, input checking, and :func:`~depth_ros.runtime.engine.open_engine`
  (the backend chosen by file type and what this machine has).
* :mod:`depth_ros.runtime.pytorch_backend`, :mod:`depth_ros.runtime.onnxruntime_backend`,
  :mod:`depth_ros.runtime.tensorrt_backend`: the backends.
* :mod:`depth_ros.runtime.tensorrt_build`: TensorRT engines from ONNX files; :mod:`depth_ros.runtime.tensorrt_platform`:
  the engine sidecar and the rebuild-or-refuse decision when an engine meets another platform.
* :mod:`depth_ros.runtime.benchmark`: latency measurement; :mod:`depth_ros.runtime.command`: the ``build-engine``
  and ``bench`` subcommands.

Nothing is imported here, so that the command line can register its subcommands without importing torch.
"""
