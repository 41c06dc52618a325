"""Training tests run on the synthetic priors stores of the dataset tests, one torch thread each."""

from tests.dataset.conftest import one_torch_thread, store4  # noqa: F401 (fixtures)
