# Thin wrappers: every target is one nox session (nox installs what it needs).
NOX ?= nox
SCENARIO ?=
EXECUTOR ?=

.PHONY: gate demo test lint typecheck bench

gate:
	$(NOX) -s gate -- $(ARGS)

demo:
	$(NOX) -s demo -- $(if $(SCENARIO),--scenario $(SCENARIO),) $(if $(EXECUTOR),--executor $(EXECUTOR),) $(ARGS)

test:
	$(NOX) -s tests network lint typecheck

lint:
	$(NOX) -s lint

typecheck:
	$(NOX) -s typecheck

bench:
	$(NOX) -s bench -- $(ARGS)
