"""Every way this project makes low-resolution input from high-resolution pictures, in one place.

`bicubic` (evaluate's clean antialiased downscale, and the crop to a multiple of S), `h264` (the
codec round trips: a frame, a clip, or a stream frame by frame), `recipes` (the named random
degradations `train --degradation` and `extract-priors --degradation` take) and `per_source`
(a recipe with its parameters fixed per video, for extract-priors). Used by the rest of dataset/
(extract-priors, the training set), by training and by eval.
"""
