# Entry points for developers and CI. `make setup` once, then `make test`.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
ACTIVATE := source $(VENV)/bin/activate &&

.PHONY: setup test lint sanity unit docs lab-test lab-pytest bench

setup:
	bash tools/setup.sh

# The one test command: every gate, then the lab: the molecule scenario and the live tests.
test: lint sanity lab-build unit lab-test lab-pytest

lint:
	$(ACTIVATE) yamllint -s .
	$(ACTIVATE) ansible-lint
	$(ACTIVATE) antsibull-changelog lint
	$(ACTIVATE) python tools/readme_docs.py --check

sanity:
	$(ACTIVATE) cd "$$(bash tools/collection-copy.sh)" && ansible-test sanity --venv --python 3.11 --color no

unit:
	$(ACTIVATE) python -m pytest tests/unit tests/render -q -p no:cacheprovider

docs:
	$(ACTIVATE) python tools/readme_docs.py

-include lab/Makefile.inc

# The lab scenario: build (cached), lab up, deploy, idempotence, verify (API, RBAC, real SPIRE), lab down.
lab-test: lab-build
	$(ACTIVATE) molecule test -s lab

# Tests against live labs of their own (bad input, interrupted converge, runbooks).
lab-pytest: lab-build
	$(ACTIVATE) python -m pytest tests/lab -q -p no:cacheprovider

# Converge timings on a fresh lab of its own: first run, no-change re-run, kubectl floor.
bench: lab-build
	$(ACTIVATE) python tools/bench_converge.py --runs 3
