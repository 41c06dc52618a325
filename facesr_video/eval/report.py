"""Write the evaluate report: report.json (every figure), report.md (tables), pictures/.

`write_report` is independent of the pipeline: it takes the typed results of `eval.results`.
report.json is strict JSON (NaN as null, infinities as "inf") and reads back with `read_report`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from facesr_video.errors import OutputError
from facesr_video.eval.pictures import comparison_strip, face_zoom, plot_series
from facesr_video.eval.results import (
    METHOD_BICUBIC,
    REPORT_FORMAT,
    REPORT_VERSION,
    ClipResult,
    MethodScores,
    ReportMeta,
    clip_from_json,
    clip_to_json,
    meta_from_json,
    meta_to_json,
    method_means,
    scores_to_json,
)
from facesr_video.files import write_whole

PICTURES_DIR = "pictures"


@dataclass(frozen=True)
class ClipPictures:
    """Paths (relative to the report folder) of one clip's pictures."""

    strips: tuple[str, ...]
    zoom: str | None
    plot: str | None


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report` wrote (absolute paths)."""

    json: Path
    markdown: Path
    pictures: tuple[Path, ...]


def _slug(index: int, name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "clip"
    return f"{index:02d}_{cleaned[:60]}"


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a report."""
    write_whole(path, lambda partial: partial.write_text(text, encoding="utf-8"))


def write_pictures(out_dir: Path, index: int, clip: ClipResult) -> ClipPictures:
    """Strips for every sample frame, a zoom on the first sample's face, and the series plot."""
    folder = out_dir / PICTURES_DIR
    folder.mkdir(exist_ok=True)
    slug = _slug(index, clip.name)
    strips = []
    for sample in clip.samples:
        name = f"{PICTURES_DIR}/{slug}_strip_{sample.index:05d}.png"
        comparison_strip(sample, clip.scale, clip).save(out_dir / name)
        strips.append(name)
    zoom = None
    if clip.samples:
        with_face = [s for s in clip.samples if s.face_box is not None] or list(clip.samples)
        zoom = f"{PICTURES_DIR}/{slug}_zoom.png"
        face_zoom(with_face[0], clip.scale, clip).save(out_dir / zoom)
    plot = None
    if any(s.psnr_per_frame or s.flicker_per_frame for s in clip.methods):
        plot = f"{PICTURES_DIR}/{slug}_series.png"
        plot_series(clip, out_dir / plot)
    return ClipPictures(strips=tuple(strips), zoom=zoom, plot=plot)


def _number(value: float, digits: int, factor: float = 1.0) -> str:
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value * factor:.{digits}f}"


TABLE_HEADER = (
    "| clip | method | PSNR dB | Δ bicubic dB | SSIM | identity | landmark err % "
    "| flicker (levels) | jitter px | fps |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)


def _row(clip: str, scores: MethodScores, bicubic: MethodScores | None) -> str:
    gain = scores.psnr - bicubic.psnr if bicubic is not None else math.nan
    cells = [
        clip,
        scores.method,
        _number(scores.psnr, 2),
        _number(gain, 2) if scores.method != METHOD_BICUBIC else "",
        _number(scores.ssim, 4),
        _number(scores.identity, 4),
        _number(scores.landmark_error, 2, 100.0),
        _number(scores.flicker, 2, 255.0),
        _number(scores.jitter, 3),
        _number(scores.fps, 1),
    ]
    return "| " + " | ".join(cells) + " |\n"


def markdown_table(results: tuple[ClipResult, ...] | list[ClipResult]) -> str:
    """One row per clip and method, then a mean row per method (over clips)."""
    text = TABLE_HEADER
    for clip in results:
        bicubic = clip.method(METHOD_BICUBIC)
        for scores in clip.methods:
            text += _row(clip.name, scores, bicubic)
    means = method_means(results)
    mean_bicubic = next((m for m in means if m.method == METHOD_BICUBIC), None)
    for scores in means:
        text += _row("**mean**", scores, mean_bicubic)
    return text


def markdown_report(
    results: tuple[ClipResult, ...] | list[ClipResult],
    meta: ReportMeta,
    pictures: tuple[ClipPictures, ...] | list[ClipPictures] = (),
) -> str:
    """The whole report.md text: how it was made, the table, the legend, the pictures."""
    lines = [f"# facesr-video evaluation, x{meta.scale}", ""]
    if meta.command:
        lines += ["```", meta.command, "```", ""]
    lines.append(f"- degradation: {meta.degradation}")
    for label, value in (
        ("version", meta.version),
        ("device", meta.device),
        ("date", meta.created),
    ):
        if value:
            lines.append(f"- {label}: {value}")
    lines += [f"- {name}: {value}" for name, value in meta.settings]
    lines += ["", markdown_table(results)]
    lines += [
        "Scores are on the face regions against the original high-resolution frames. PSNR: peak "
        "1.0 over RGB; SSIM: 11x11 Gaussian (sigma 1.5) on luma; identity: cosine of dlib face "
        "descriptors (1 = same); landmark error: mean landmark distance / outer-eye-corner "
        "distance; flicker: mean |(O_t - O_t-1) - (H_t - H_t-1)| in 8-bit levels (0 = as stable "
        "as the original); jitter: mean landmark acceleration on the output in pixels/frame^2; "
        "fps: frames per second of the whole method. Mean rows average the clips.",
        "",
    ]
    for clip, clip_pictures in zip(results, pictures, strict=False):
        lines += [
            f"## {clip.name}",
            "",
            f"{clip.source}: {clip.width}x{clip.height}, {clip.frames} frames, "
            f"{clip.faces} faces scored",
            "",
        ]
        shown = [(f"{clip.name} frame strip", path) for path in clip_pictures.strips]
        if clip_pictures.zoom:
            shown.append((f"{clip.name} face zoom", clip_pictures.zoom))
        if clip_pictures.plot:
            shown.append((f"{clip.name} per-frame PSNR and flicker", clip_pictures.plot))
        for alt, path in shown:  # one paragraph each, so they stack rather than flow inline
            lines += [f"![{alt}]({path})", ""]
    return "\n".join(lines)


def report_json(
    results: tuple[ClipResult, ...] | list[ClipResult],
    meta: ReportMeta,
    pictures: tuple[ClipPictures, ...] | list[ClipPictures] = (),
) -> dict:
    """The report.json document: meta, clips (with per-frame series), means, picture paths."""
    clips = []
    for index, clip in enumerate(results):
        data = clip_to_json(clip)
        if index < len(pictures):
            shown = pictures[index]
            data["pictures"] = {
                "strips": list(shown.strips),
                "zoom": shown.zoom,
                "plot": shown.plot,
            }
        clips.append(data)
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "meta": meta_to_json(meta),
        "clips": clips,
        "means": [scores_to_json(m) for m in method_means(results)],
    }


def write_report(
    out_dir: Path, results: tuple[ClipResult, ...] | list[ClipResult], meta: ReportMeta
) -> ReportFiles:
    """Write report.json, report.md and pictures/ into out_dir (created; files replaced).

    Raises:
        OutputError: out_dir is a file or cannot be created.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"report folder {out_dir} is a file", "give --out a folder path")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create {out_dir}: {error.strerror}", "choose another --out"
        ) from error
    pictures = [write_pictures(out_dir, index, clip) for index, clip in enumerate(results)]
    json_path = out_dir / "report.json"
    markdown_path = out_dir / "report.md"
    document = report_json(results, meta, pictures)
    _write_text(json_path, json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False))
    _write_text(markdown_path, markdown_report(results, meta, pictures))
    written = [
        out_dir / p for shown in pictures for p in (*shown.strips, shown.zoom, shown.plot) if p
    ]
    return ReportFiles(json=json_path, markdown=markdown_path, pictures=tuple(written))


def read_report(path: Path) -> tuple[tuple[ClipResult, ...], ReportMeta]:
    """Read report.json (or the folder holding it) back into results and meta."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != REPORT_FORMAT:
        raise ValueError(f"{path} is not a facesr-video report")
    clips = tuple(clip_from_json(data) for data in document["clips"])
    return clips, meta_from_json(document["meta"])
