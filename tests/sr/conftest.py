"""Tiny networks on a shared machine: one torch thread per test (as in the dataset tests)."""

from tests.dataset.conftest import one_torch_thread  # noqa: F401 (autouse fixture)
