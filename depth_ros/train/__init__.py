"""Training: ``depth-ros train`` for self-supervised Monodepth2 and supervised MVDepthNet (see loop.py)."""
