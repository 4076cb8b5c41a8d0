"""The receiver's controller: the JobSink cache, the status reconciler behind its Lease, and storm
guarding. It runs beside the data plane and never handles an event."""
