"""Certificates for the webhook, the receiver and the local control plane.

Built on ``cryptography``; knows nothing of JobSinks. See ``authority`` for issuing.
"""
