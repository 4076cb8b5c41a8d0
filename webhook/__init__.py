"""The admission webhook server: HTTP transport around ``jobsink.admission``."""
