"""The JobSink API: models, the JobSink type, defaulting, validation and rendering (pure)."""
