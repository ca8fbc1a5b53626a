"""Export of depth networks for deployment: ONNX files with embedded metadata, checked for TensorRT.

* :mod:`depth_ros.export.onnx_export`: :func:`~depth_ros.export.onnx_export.export_onnx`,
  :func:`~depth_ros.export.onnx_export.read_onnx_metadata`, :func:`~depth_ros.export.onnx_export.verify_onnx`.
* :mod:`depth_ros.export.tensorrt_ops`: the static TensorRT parser check.
* :mod:`depth_ros.export.command`: the ``depth-ros export`` subcommand.

Nothing is imported here, so that the command line can register ``export`` without importing torch.
"""
