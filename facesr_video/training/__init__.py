"""Training the SAM network on a priors store (`facesr-video train`).

Modules: `config` (TrainConfig), `loop` (train: the steps, single process or DDP), `data` (the
store split by source, the batches), `network` (build, --init, frozen parts, forward),
`distributed` (the torchrun group), `ema` (the averaged weights), `checkpoints` (save, resume),
`validation` (PSNR/SSIM against bicubic, sample sheets), `export` (model.safetensors with its
recipe) and `soup` (averaging two fine-tunes' weights).
"""
