"""Kubernetes access: one small gateway over the official client, shared by webhook and receiver."""
