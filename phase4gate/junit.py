"""JUnit XML for CI: one test case per WP (a stop is a failure with its reason).

The renderer lives with the report's other projections in :mod:`phase4gate.report`;
this module keeps ``from phase4gate.junit import render_junit, write_junit`` working.
"""

from __future__ import annotations

from phase4gate.report import render_junit, write_junit

__all__ = ["render_junit", "write_junit"]
