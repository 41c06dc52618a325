"""facesr-video: super-resolve the faces in a video, guided by a 3D face model."""

__version__ = "0.1.0"
