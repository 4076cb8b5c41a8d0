"""What the receiver says about the outcome of each event's Job: Kubernetes Events on the
JobSink, per-JobSink metrics, and the Job watch of the status Lease holder that feeds both."""
