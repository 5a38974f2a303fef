"""One BLAS thread while proposing: the models' matrices are small, and BLAS threads only add contention.

Measured on a busy 2-core machine (load about 4): a GP-EI proposal on Branin over 30 evaluations took
0.96 s of CPU with OpenBLAS's 2 threads and 0.018 s with one. The command line already limits BLAS around a
whole experiment; the ask/tell API limits it around each proposal and each recorded trial. Entering the
limit costs about 3 microseconds with a cached controller (threadpoolctl's `threadpool_limits` costs 90).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager:
    """A context in which BLAS libraries use one thread (restored on exit)."""
    return _controller().limit(limits=1, user_api="blas")
