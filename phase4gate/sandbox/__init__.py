"""Local emulators (GitHub, package index, SaaS) and fixture worlds for tests and the demo."""
