"""Typed wire models of the Kubernetes objects JobSink works with.

``batch_v1`` is generated from the vendored Kubernetes 1.36 OpenAPI definitions
(``batch_v1.schema.json``) by ``tools/modelgen/generate.py``; ``quantity`` and ``scalars`` are
the hand-written scalar types it uses.
"""
