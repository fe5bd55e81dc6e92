"""Helpers the tests share (and bench/run.py and scripts/soak.py, which put tests/ on sys.path).

``processes``: free ports, starting gunicorn, stopping process groups.
``database``: libpq DSNs, one-off SQL, moving a hold's expiry into the past.
``api``: requests to the JSON API and checks of its answers.
"""
