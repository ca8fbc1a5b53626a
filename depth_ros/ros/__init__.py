"""rclpy adapters (nodes, message conversions, QoS, parameters, diagnostics): everything under ros/ may import rclpy."""
