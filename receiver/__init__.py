"""The event receiver: HTTP ingest of CloudEvents into Jobs, the JobSink cache and status."""
