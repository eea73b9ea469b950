"""The counters `GET /_snaplake/calls` answers with, for the benchmarks: AWS
requests per operation, Step Functions history events and Lambda runs since
the last reset, and when the first request arrived.

They are kept apart from the control API that serves and resets them
(`control.py`), so that the modules that count (`lambdas.py`,
`stepfunctions.py`) need not import that API, which imports the services.
"""

import threading

# Requests per AWS operation since the last reset of the counters, for the
# benchmarks' "AWS calls per table".
CALLS: dict[str, int] = {}
LOCK = threading.Lock()
# When the first of them arrived (time.monotonic(): CLOCK_MONOTONIC, which
# another process on this machine reads alike), for the cold-start benchmark's
# "to the first request".
FIRST_CALL: dict[str, float] = {}


def count(operation: str, n: int = 1) -> None:
    with LOCK:
        CALLS[operation] = CALLS.get(operation, 0) + n


def keep_max(name: str, value: int) -> None:
    with LOCK:
        if value > CALLS.get(name, 0):
            CALLS[name] = value
