"""Kubernetes access: one small gateway over the official client, shared by webhook and receiver.

From the bottom up: ``resources`` (which resource, and its one path builder), ``errors`` (every
failure, mapped once from the apiserver's ``Status``), ``raw`` (the one place that sends),
``calls`` (deadlines and retries), ``watch`` (watch streams), ``listwatch`` and ``informer``
(a local copy kept current), and the resource clients ``object_client`` (Jobs, Secrets),
``jobsinks``, ``leases``, ``secrets``, ``webhookconfigs`` and ``dryrun``. The layering is an
import-linter contract in pyproject.toml.
"""
