"""Validation on held-out sources: PSNR/SSIM of the network and of bicubic, and a sample sheet.

Run by rank 0 on the EMA weights every `eval_every` steps, on fixed centre patches, so the
figures of two steps (or two runs) compare like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from facesr_video.dataset.patches import PatchDataset, SRBatch
from facesr_video.dataset.store import SampleReader
from facesr_video.eval.metrics import psnr, ssim
from facesr_video.sr.network import SAMNet
from facesr_video.training.config import TrainConfig
from facesr_video.training.network import forward


@dataclass(frozen=True)
class EvalResult:
    """Validation at one step: means over the held-out patches."""

    step: int
    psnr: float
    ssim: float
    bicubic_psnr: float
    bicubic_ssim: float
    sheet: Path | None


def validation_line(result: EvalResult) -> str:
    """One line for the person training: the step's PSNR and SSIM beside bicubic's."""
    return (
        f"step {result.step}: PSNR {result.psnr:.2f} dB (bicubic {result.bicubic_psnr:.2f}), "
        f"SSIM {result.ssim:.4f} (bicubic {result.bicubic_ssim:.4f})"
    )


@torch.no_grad()
def validate(
    model: SAMNet,
    reader: SampleReader,
    val_idx: list[int],
    config: TrainConfig,
    device: str,
    step: int,
    out_dir: Path,
    channels: list[int] | None = None,
) -> EvalResult:
    """PSNR/SSIM (eval/metrics.py) of output and bicubic against HR on fixed centre patches."""
    chosen = val_idx[: config.max_val_samples]
    patch = min(reader.lr_sizes[i] for i in chosen) // 8 * 8
    data = PatchDataset(
        reader,
        chosen,
        patch,
        False,
        config.on_the_fly,
        config.degrade_config,
        channels=channels,
        neighbours=model.config.neighbours,
        registration=config.registration,
        synthetic_neighbours=config.synthetic_neighbours,
    )
    was_training = model.training
    model.eval()
    scores: dict[str, list[torch.Tensor]] = {k: [] for k in ("p", "s", "bp", "bs")}
    rows: list[np.ndarray] = []
    for first in range(0, len(chosen), config.batch_size):
        items = [
            data[(i, 10_000 + i)] for i in range(first, min(len(chosen), first + config.batch_size))
        ]
        batch = SRBatch(*(torch.stack(t) for t in zip(*items, strict=True))).to(device)
        out = forward(model, model.config, batch).float().clamp(0, 1)
        bicubic = F.interpolate(
            batch.lr, scale_factor=reader.scale, mode="bicubic", align_corners=False
        ).clamp(0, 1)
        scores["p"].append(psnr(out, batch.hr).cpu())
        scores["s"].append(ssim(out, batch.hr).cpu())
        scores["bp"].append(psnr(bicubic, batch.hr).cpu())
        scores["bs"].append(ssim(bicubic, batch.hr).cpu())
        if not rows:
            rows = _sheet_rows(batch, bicubic, out, reader.scale)
    if was_training:
        model.train()
    sheet = out_dir / "val" / f"step-{step:07d}.png"
    sheet.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(sheet)

    def mean(key: str) -> float:
        return float(torch.cat(scores[key]).mean())

    return EvalResult(step, mean("p"), mean("s"), mean("bp"), mean("bs"), sheet)


def _sheet_rows(
    batch: SRBatch, bicubic: torch.Tensor, out: torch.Tensor, scale: int, count: int = 4
) -> list[np.ndarray]:
    """Rows of LR (nearest) | bicubic | output | HR as (S*p, 4*S*p, 3) uint8 images."""
    lr_big = F.interpolate(batch.lr, scale_factor=scale, mode="nearest")
    rows = []
    for i in range(min(count, batch.lr.shape[0])):
        tiles = [lr_big[i], bicubic[i], out[i], batch.hr[i]]
        row = torch.cat([t.clamp(0, 1) for t in tiles], dim=2)
        rows.append((row.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8))
    return rows
