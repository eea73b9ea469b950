"""moto's request dispatch, without the work it repeats for every request.

For each request moto's `DomainDispatcherApplication` finds the service
backend by listing its own package folder (a `stat` for each of ~180
modules) and trying every service's URL patterns, and it does so holding
one lock: requests the server takes in parallel queue on it. Its Flask
views then list the response class's methods (`inspect.getmembers`) to
find the action. Neither answer changes while the server runs, so here
each is worked out once. Measured with `make bench`'s swap (500 tables at
concurrency 16, latency model on): see BENCHMARKS.md.
"""

import functools

from moto.core import responses, utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication


class Dispatcher(DomainDispatcherApplication):
    def __init__(self, create_app):
        super().__init__(create_app)
        self.backend_of_host: dict = {}

    def get_backend_for_host(self, host):
        # Called under self.lock (get_application).
        if host not in self.backend_of_host:
            self.backend_of_host[host] = super().get_backend_for_host(host)
        return self.backend_of_host[host]


def install() -> None:
    # Classes are patched by the stand-in's install() calls before the
    # first request, so the first answer for a class is its final one.
    responses.method_names_from_class = functools.cache(utils.method_names_from_class)
