"""The service's Prometheus metrics, in a registry of its own (one per app, so two apps in one process,
as in tests, count apart). With several worker processes (`bwc serve --workers N`) each counts its own
requests, and a scrape is answered by one of them: `bwc_worker{pid}` says which."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("bwc_requests", "HTTP requests by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("bwc_request_seconds", "Time to answer a request, by route.", ["route"],
                                 registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.decisions = Counter("bwc_decisions", "Decisions returned (and recorded), by ruleset version.",
                                 ["ruleset", "version"], registry=self.registry)
        self.store_errors = Counter("bwc_store_errors", "Requests that failed because the store did.",
                                    registry=self.registry)
        self.worker = Gauge("bwc_worker", "The worker process that answered this scrape (each worker counts "
                            "its own requests).", ["pid"], registry=self.registry)
        self.worker.labels(str(os.getpid())).set(1)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
