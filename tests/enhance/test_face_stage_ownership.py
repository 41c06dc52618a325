"""FaceStage owns only its own state: it neither changes the process-wide torch thread count nor
moves or converts the network it was given (evaluate hands one network to many stages)."""

from __future__ import annotations

import torch

from facesr_video.enhance.face_stage import FaceOptions, FaceStage
from facesr_video.enhance.prepare import resolve_face_model, resolve_network
from tests.conftest import ICT_NPZ, require
from tests.enhance.test_face_stage import make_weights


def test_stage_leaves_threads_and_the_callers_network_alone(tmp_path) -> None:
    model = resolve_face_model(require(ICT_NPZ))
    net, info = resolve_network(make_weights(tmp_path / "w.safetensors"), 4, torch.device("cpu"))
    net.train()  # a state the stage must not change
    before_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        stage = FaceStage(model, net, info, 4, FaceOptions(threads=0), torch.device("cpu"))
        assert torch.get_num_threads() == 1
        assert net.training and not stage.network.training
        assert stage.network is not net
    finally:
        torch.set_num_threads(before_threads)


def test_analysis_times_reach_the_stage_through_a_copy(tmp_path) -> None:
    from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser

    analyser = SequenceAnalyser(resolve_face_model(require(ICT_NPZ)), AnalysisConfig())
    seconds = analyser.seconds
    seconds["detect"] = 99.0
    assert analyser.seconds["detect"] == 0.0
