"""Hypothesis settings for the property-based tests: deterministic, so that CI runs the same examples every time.

`derandomize=True` draws the examples from a seed derived from each test, and `database=None` keeps no example
database between runs (a failure found once is not replayed silently on the next run, and nothing is written
into the working tree). Examples are few (each one goes through HTTP) and have no deadline: a shared, noisy
machine must not turn a slow example into a failure.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

DETERMINISTIC = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # The `app` fixture is set up once per test, not per example: every example of a test works in the same
    # program, pair and agreement, which is what a pair editing one field again and again does.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("portal", DETERMINISTIC)
