"""One BLAS thread while proposing: the models' matrices are small, and BLAS threads only add contention.

Measured on a busy 2-core machine (load about 4): a GP-EI proposal on Branin over 30 evaluations took
0.96 s of CPU with OpenBLAS's 2 threads and 0.018 s with one. The command line holds the limit around a
whole experiment; the ask/tell API limits it around each proposal and each recorded trial. Entering the
limit costs 3-20 microseconds with a cached controller (13 us with two OpenBLAS libraries loaded, 20 with
torch's; threadpoolctl's `threadpool_limits` costs 90), half of a random-arm table replay's trial
(experiments/results/backend_overhead.txt), so the limit is reentrant: inside a held one it costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_depth = 0


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """A context in which BLAS libraries use one thread (restored on exit); nested ones are free."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    with _controller().limit(limits=1, user_api="blas"):
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
