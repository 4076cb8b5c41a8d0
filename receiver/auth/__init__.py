"""Who sent a request: Kubernetes service-account tokens (OIDC) verified locally, per JobSink.

Knows nothing of the data plane or the controller; both ask it. ``subject`` is what authorization
consumes, ``audience`` what the status publishes and a sender requests its token for.
"""
