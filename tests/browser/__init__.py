"""Browser tests (Playwright, headless Debian Chromium).

A package, so that its conftest is imported as ``browser.conftest`` and never
shadows ``tests/conftest.py``, which other test modules import as ``conftest``.
"""
