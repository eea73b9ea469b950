"""A retried request gets the answer its first attempt got.

An SDK retries a request whose answer did not reach it (a reset connection,
a timeout) with the same `amz-sdk-invocation-id` header and a higher
`attempt=` in `amz-sdk-request`. Three times (the last in `make test`, with
`TF_LOG` on: `attempt=2; max=25` on a `CreateFunction`) the stand-in had
created a Lambda function or a KMS alias, the Go SDK's first attempt ended
without the answer, and the retry was refused "already exists": `terraform
apply` failed. The cause of the lost answer was not found. AWS loses an
answer so rarely that the provider does nothing about it; here the server
is one Python process on a loaded two-core machine.

So a retry of a request that changes something, which the stand-in already
answered with success, gets that answer again, and a retry that arrives while
its first attempt is still being served waits for it. A retry after an error
answer is served anew, as AWS would serve it. Requests without the headers
(curl, the control API) and GET/HEAD are served as they come.
"""

import threading

from .evaluation import log

# How many first attempts are remembered (oldest forgotten first).
KEEP = 5000
_LOCK = threading.Lock()
_FIRST: dict[str, "_Answer"] = {}


class _Answer:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.status: str | None = None
        self.headers: list = []
        self.body = b""


def attempt_of(environ) -> tuple[str | None, int]:
    """The request's invocation id (None when it has none or only reads) and attempt number."""
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
    if not invocation or environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
        return None, 0
    attempt = 1
    for part in environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "attempt" and value.isdigit():
            attempt = int(value)
    return invocation, attempt


def serve(app, environ, start_response):
    invocation, attempt = attempt_of(environ)
    if invocation is None:
        return app(environ, start_response)
    with _LOCK:
        first = _FIRST.get(invocation)
        mine = first is None
        if mine:
            first = _FIRST[invocation] = _Answer()
            for old in list(_FIRST)[: max(0, len(_FIRST) - KEEP)]:
                del _FIRST[old]
    if mine:
        return _serve_first(app, environ, start_response, first)
    if attempt > 1 and first.done.wait(timeout=300) and first.status and first.status[0] in "23":
        log(f"standin: {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')} attempt {attempt} of "
            f"{invocation}: answered as its first attempt was ({first.status}); that answer was lost on the way")
        start_response(first.status, first.headers)
        return [first.body]
    return app(environ, start_response)


def _serve_first(app, environ, start_response, first: _Answer):
    def capture(status, headers, exc_info=None):
        first.status, first.headers = status, list(headers)
        return start_response(status, headers, exc_info)

    try:
        result = app(environ, capture)
        try:
            first.body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return [first.body]
    except BaseException:
        first.status = None
        raise
    finally:
        first.done.set()
