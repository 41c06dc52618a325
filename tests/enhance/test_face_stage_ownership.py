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
        stage = FaceStage(
            model, net, info, 4, FaceOptions(threads=0, runtime="torch"), torch.device("cpu")
        )
        assert torch.get_num_threads() == 1
        assert net.training and not stage.runtime.network.training
        assert stage.runtime.network is not net
    finally:
        torch.set_num_threads(before_threads)


def test_analysis_times_reach_the_stage_through_a_copy(tmp_path) -> None:
    """The stage's record gets the analyser's totals (replaced at each sync, not added up), and
    neither record can change the other."""
    from facesr_video.analysis.sequence import AnalysisConfig, SequenceAnalyser

    model = resolve_face_model(require(ICT_NPZ))
    net, info = resolve_network(make_weights(tmp_path / "w.safetensors"), 4, torch.device("cpu"))
    before_threads = torch.get_num_threads()
    try:
        stage = FaceStage(model, net, info, 4, FaceOptions(threads=1), torch.device("cpu"))
    finally:
        torch.set_num_threads(before_threads)
    stage.analyser = analyser = SequenceAnalyser(model, AnalysisConfig())
    analyser.times.add("detect", 2.0)
    analyser.times.add("fit", 0.5)
    stage._sync_analysis_times()
    assert stage.times.seconds["detect"] == 2.0 and stage.times.seconds["fit"] == 0.5
    seconds = analyser.seconds
    seconds["detect"] = 99.0  # a reader's copy
    stage.times.add("detect", 1.0)  # the stage's own record
    assert analyser.seconds["detect"] == 2.0
    analyser.times.add("detect", 1.0)
    stage._sync_analysis_times()
    assert stage.times.seconds["detect"] == 3.0  # the analyser's total, not a sum of syncs
