"""The GIL is released while C++ works; Ctrl-C interrupts a search."""

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import lorahub


def test_two_threads_score_at_once(model, pool, few_shot):
    # With a switch interval far longer than the test, a thread gives the GIL up only where it
    # blocks or releases it: if score() held the GIL, the two calls could not overlap at all.
    weights = np.random.default_rng(0).uniform(-1, 1, size=(16, len(pool)))
    spans = {}
    barrier = threading.Barrier(2)

    def work(name):
        barrier.wait()
        began = time.perf_counter()
        for _ in range(3):
            lorahub.score(model, pool, *few_shot, weights)
        spans[name] = (began, time.perf_counter())

    previous = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    (a_begin, a_end), (b_begin, b_end) = spans["a"], spans["b"]
    assert max(a_begin, b_begin) < min(a_end, b_end), "the two score() calls ran one after the other"


def test_two_threads_get_the_results_of_one(model, pool, few_shot):
    weights = np.random.default_rng(1).uniform(-1, 1, size=(8, len(pool)))
    expected = lorahub.score(model, pool, *few_shot, weights)
    results = [None, None]

    def work(slot):
        results[slot] = lorahub.score(model, pool, *few_shot, weights)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(result, expected) for result in results)


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler for the test's duration: a Python started as a background job of
    a non-interactive shell inherits SIGINT ignored and keeps it so, and there no Ctrl-C exists."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals reach the main thread only")
def test_ctrl_c_interrupts_a_search_and_writes_nothing(model, pool, few_shot, tmp_path, ctrl_c_raises):
    evaluations = []
    budget = 200_000  # hours of work: only the interrupt ends it
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    out = tmp_path / "adapter"
    try:
        with pytest.raises(KeyboardInterrupt):
            result = lorahub.learn(model, pool, *few_shot, optimizer="random", budget=budget,
                                   callback=lambda index, weights, objective: evaluations.append(index))
            result.save_adapter(out)
    finally:
        timer.cancel()
    assert 0 < len(evaluations) < budget
    assert not out.exists() and list(tmp_path.iterdir()) == []
