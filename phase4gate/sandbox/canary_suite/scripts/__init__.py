"""Harness scripts of the fixture end-to-end checkout."""
