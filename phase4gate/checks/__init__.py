"""Pure checks: data in, verdict out; no I/O imports."""
