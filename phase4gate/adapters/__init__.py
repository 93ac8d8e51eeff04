"""I/O adapters: GitHub, HTTP, package index, git, processes, the evidence store."""
