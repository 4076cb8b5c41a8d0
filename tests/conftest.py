"""Settings for the whole suite.

Hypothesis: the property tests judge correctness, not speed. On a shared 2-core machine (CI, or
a laptop building the control plane) generating an input can take over a second, which
Hypothesis' default health check and per-example deadline would report as failures. Speed has
its own benchmarks (bench/), so both are off for every property test.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("jobsink", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jobsink")
