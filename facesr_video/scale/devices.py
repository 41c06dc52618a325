"""--device for several workers: `cuda:0,cuda:1` gives each worker one device in turn."""

from __future__ import annotations

from facesr_video.errors import DeviceError


def device_list(spec: str) -> list[str]:
    """'cuda:0, cuda:1' -> ['cuda:0', 'cuda:1']; a single name stays a list of one."""
    names = [name.strip() for name in str(spec).split(",")]
    if not all(names):
        raise DeviceError(f"empty name in --device {spec!r}", "use e.g. cuda:0,cuda:1")
    return names


def worker_devices(spec: str, workers: int) -> list[str]:
    """The device of each of `workers` workers: the listed ones in turn (two workers per GPU
    when there are twice as many workers as devices)."""
    names = device_list(spec)
    return [names[i % len(names)] for i in range(workers)]
