"""Template of the fixture end-to-end checkout; ``phase4gate.sandbox.e2e`` copies it into place.

Nothing here is imported by phase4gate: the files run inside the checkout, under
the checkout's own pytest configuration.
"""
