"""facesr-video: super-resolve the faces in a video, guided by a 3D face model."""

import os as _os

# The per-face maths (3DMM fits, Kalman updates) is many small matrix solves; OpenBLAS's thread
# pool makes those ~10x slower on a busy CPU. torch keeps its own threads for the big work.
# Set before numpy is first imported; a user's explicit setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
