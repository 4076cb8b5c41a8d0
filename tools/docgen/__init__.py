"""Generators of the documentation pages that can be derived from the code.

``python -m docgen`` (with ``tools/`` on ``PYTHONPATH``; ``make docs-generate``) writes them;
``tests/docs`` regenerates them in memory and compares them with the committed pages.
"""
