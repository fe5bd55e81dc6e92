"""The fault-injection suite: real servers killed, restarted and skewed.

``make test-faults`` runs it; ``make test`` leaves it out (pyproject.toml's
addopts say ``-m "not faults"``), so to run one file by hand give the mark
again: ``.venv/bin/python -m pytest -m faults tests/faults/test_clock_skew.py``.
"""
