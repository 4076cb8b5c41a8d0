"""The data plane: CloudEvents in, Jobs out. ``handler`` reads one request top to bottom; the
other modules are its steps: ``routes``, ``body``, ``wire`` (decode), ``authorize``, ``deliver``,
``answers``, and ``refusals`` for every way a request fails."""
