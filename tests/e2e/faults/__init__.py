"""Fault and hostile-input suites (markers ``e2e`` and ``faults``), and the harness they share.

The harness (events, a retrying sender, fault injectors, the audit, raw HTTP probes, RSS) is also
what ``bench/soak.py`` drives, so the soak and the tests judge a run by the same audit.

Run only these: ``pytest -m faults``; leave them out of an e2e run: ``-m "e2e and not faults"``.
"""
