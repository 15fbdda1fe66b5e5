"""Run one function in several Python threads at once (the concurrency tests)."""

import threading


def in_threads(function, n, timeout=600):
    """[function(0), ..., function(n - 1)], each called in its own thread, all
    started together; an exception in a thread is raised here."""
    results, errors = [None] * n, []

    def run(i):
        try:
            results[i] = function(i)
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results
