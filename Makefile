# Entry points for developers and CI. `make setup` once, then `make test`.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
ACTIVATE := source $(VENV)/bin/activate &&

.PHONY: setup test lint sanity unit packaging docs lab-test lab-pytest bench kind-build kind-test kind-pytest

setup:
	bash tools/setup.sh

# The one test command: every gate, then the lab: the molecule scenario and the live tests.
test: lint sanity lab-build kind-build unit packaging lab-test kind-test kind-pytest lab-pytest

# lint-collection-docs: the venv sits inside the checkout, and without the git ceiling antsibull-docs
# would copy none of the collections ours depends on.
lint:
	$(ACTIVATE) yamllint -s .
	$(ACTIVATE) ansible-lint
	$(ACTIVATE) antsibull-changelog lint
	$(ACTIVATE) python tools/reference_docs.py --check
	$(ACTIVATE) GIT_CEILING_DIRECTORIES=$(VENV) antsibull-docs lint-collection-docs --plugin-docs .

sanity:
	$(ACTIVATE) cd "$$(bash tools/collection-copy.sh)" && ansible-test sanity --venv --python 3.11 --color no

unit:
	$(ACTIVATE) python -m pytest tests/unit tests/render -q -p no:cacheprovider
	cd lab/kind/go && go vet ./... && go test ./...

# The built artifact: runtime content only, installable offline, documented and working once installed.
packaging:
	$(ACTIVATE) python -m pytest tests/packaging -q -p no:cacheprovider

# The module and role reference in docs/reference/ (antsibull-docs); `make lint` fails when it is stale.
docs:
	$(ACTIVATE) python tools/reference_docs.py

-include lab/Makefile.inc

# The lab scenario: build (cached), lab up, deploy, idempotence, verify (API, RBAC, real SPIRE), lab down.
lab-test: lab-build
	$(ACTIVATE) molecule test -s lab

# The offline kind lab (lab/kind): its binaries, its own Docker engine, every image (cached).
kind-build:
	lab/build.sh kind
	$(LAB_PY) lab/kind/kindlab.py build

# The kind scenario in real pods: cluster, deploy + samples, idempotence, verify, destroy; the
# lab's engine is stopped afterwards whatever the outcome. On a failure the failed tasks are
# printed last, where a CI log's tail shows them.
KIND_TEST_LOG ?= $${TMPDIR:-/tmp}/ardur-spire-kind-test.log
kind-test: kind-build
	set -o pipefail; $(ACTIVATE) eval "$$($(LAB_PY) lab/kind/kindlab.py env)" \
	  && molecule test -s default 2>&1 | tee $(KIND_TEST_LOG); \
	  rc=$$?; $(LAB_PY) lab/kind/kindlab.py engine-down; \
	  if [ $$rc -ne 0 ]; then $(LAB_PY) tools/ansible_failures.py $(KIND_TEST_LOG); fi; exit $$rc

# The runbook tests in real pods, on one kind cluster for the session (tests/kind).
kind-pytest: kind-build
	$(ACTIVATE) python -m pytest tests/kind -q -p no:cacheprovider

# Tests against live labs of their own (bad input, interrupted converge, runbooks).
lab-pytest: lab-build
	$(ACTIVATE) python -m pytest tests/lab -q -p no:cacheprovider

# Converge timings on a fresh lab of its own: first run, no-change re-run, kubectl floor.
bench: lab-build
	$(ACTIVATE) python tools/bench_converge.py --runs 3
