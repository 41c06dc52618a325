"""Face stages on low-resolution frames: detect, landmark, track and align every face.

Modules:
- `detect`, `landmarks`, `search` (where to look for a tracked face), `track` (the tracker),
  `shots` (scene cuts), `observation` (`FaceObservation`: one tracked face in one frame)
- `align.warp_affine`, `align.paste`, `Alignment.scaled(s)` for crop and paste-back maths
- `overlay.draw_overlay`, `overlay.contact_sheet` for looking at the result
They are run together, frame by frame, by `analysis.face_tracks.FaceAnalyzer`.

Smallest face found: with the default min_face=20 the detector enlarges the frame 4x (within a
3-megapixel budget) and finds faces down to ~16-20 px (dlib box width); measured in
tests/benchmarks/bench_faces.py. That full small-face scan runs only every few frames; in between,
tracked faces are searched for in windows at their own scale (see analysis/face_tracks.py), ~3x
faster on 320x180. dlib's 68-point model was trained on iBUG 300-W (non-commercial).
"""
