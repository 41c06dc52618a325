"""`facesr-video enhance IN OUT --scale 4` (the video/foundation work fills this in)."""
