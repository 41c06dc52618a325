"""Per-frame and per-track analysis, shared by enhance, extract-priors and evaluate.

Two halves, each streaming one frame at a time:
- `face_tracks.FaceAnalyzer`: 2D, per frame. Runs the face stages of faces/ (detection,
  landmarks, tracking, alignment) and decides when to scan; gives `FaceObservation`s.
- `sequence.SequenceAnalyser`: 3D, per track. Fits the 3DMM to each observation, smooths the fits
  over time (fixed lag) and re-aligns the crops; gives `AnalysedFrame`s of `FaceState`s.
Then, per face: `priors` (rendered prior maps), `motion` (to the neighbouring frames), `window`
(each frame with its neighbours) and `face_inputs` (what the network needs besides pixels).
"""
