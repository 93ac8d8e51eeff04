"""Tests of the fixture end-to-end checkout (deselected by default; see pytest.ini)."""
