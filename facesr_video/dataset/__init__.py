"""extract-priors and the training data.

Modules: `extract` (videos and image folders -> a store of aligned face samples with 3D priors),
`inputs` (what extract-priors reads), `extract_log`, `extract_overlay`, `extract_sheet` (what it
writes beside the store), `store` (the store format: writer and reader), `patches` (torch
datasets of aligned random patches), `mirror` (flipping a sample with its priors) and `degrade`
(every way low-resolution input is made).
"""
