"""The ``jobsink`` command line: one typer app that imports every part and is imported by none."""
