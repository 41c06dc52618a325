"""An exponential moving average of a model's weights: the copy that is validated and exported."""

from __future__ import annotations

import copy
from typing import Any

import torch

from facesr_video.sr.network import SAMNet


class ExponentialAverage:
    """EMA of a model's weights, the copy that is validated and shipped (smoother than the last
    step's). The decay ramps up as (1 + t) / (10 + t) so early averages do not lag far behind."""

    def __init__(self, model: SAMNet, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, current in zip(
            self.model.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if average.is_floating_point():
                average.lerp_(current.detach(), 1.0 - decay)
            else:
                average.copy_(current)

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any], updates: int) -> None:
        self.model.load_state_dict(state)
        self.updates = updates
