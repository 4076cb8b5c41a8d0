# JobSink for Python. The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv lint typecheck test test-fast test-e2e test-node test-kueue test-knative test-cluster event-reader kueue knative generate docs docs-build docs-generate controlplane node buildkit image run manifests bench-webhook bench-webhook-apply bench-receiver bench-kueue bench-node bench-cluster bench-soak clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)  ## create/reuse .venv with the project and its test extras

lint: $(STAMP)  ## ruff, mypy --strict (packages, the docs generators and their tests) and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	MYPYPATH=tools $(BIN)/mypy --strict tools/docgen tests/docs
	$(BIN)/lint-imports

controlplane:  ## build (or reuse) etcd, kube-apiserver, kube-controller-manager v1.36.3
	@bash tools/build-controlplane.sh >/dev/null

node: controlplane  ## build (or reuse) kubelet, kube-scheduler, containerd, runc, CNI plugins, pause
	@bash tools/build-node.sh >/dev/null

kueue:  ## build (or reuse) Kueue's controller manager v0.17.0 and its CRDs, RBAC and webhooks
	@bash tools/build-kueue.sh >/dev/null

knative:  ## build (or reuse) Knative Eventing v0.50.0's components and its config/ (knative.dev/eventing)
	@bash tools/build-knative.sh >/dev/null

buildkit:  ## build (or reuse) BuildKit's buildkitd and buildctl v0.26.2 (for make image)
	@bash tools/build-buildkit.sh >/dev/null

image: $(STAMP) node buildkit  ## build the project image from the Dockerfile without Docker (BuildKit); imported into running nodes
	$(BIN)/python -m controlplane.image

event-reader:  ## build (or reuse) the documentation's Go snippet (CloudEvents Go SDK v2.16.2) as a static binary
	@bash tools/build-event-reader.sh >/dev/null

test: lint controlplane node kueue knative buildkit event-reader  ## everything: lint, the strict docs build, unit, HTTP and end-to-end tests (node and cluster ones too)
	$(BIN)/pytest -m "not cluster"
	$(BIN)/pytest -m cluster

test-fast: lint  ## lint and the tests that need no control plane
	$(BIN)/pytest -m "not e2e"

test-e2e: $(STAMP) controlplane node kueue knative buildkit event-reader  ## only the end-to-end suite
	$(BIN)/pytest -m "e2e and not cluster"
	$(BIN)/pytest -m cluster

test-node: $(STAMP) controlplane node  ## only the scenarios that run Pods on the local node
	$(BIN)/pytest -m node

test-cluster: $(STAMP) controlplane node buildkit event-reader  ## only the README's install run on the local node (image, bundle, the docs' trigger, restarts, uninstall)
	$(BIN)/pytest -m cluster

test-kueue: $(STAMP) controlplane node kueue  ## only the Kueue scenarios (Kueue's manager on the local node plane)
	$(BIN)/pytest -m kueue

test-knative: $(STAMP) controlplane node knative  ## only the Knative scenarios (Knative Eventing's Pods on a node of their own)
	$(BIN)/pytest -m knative

generate: $(STAMP)  ## refresh the vendored schema, the generated models and the CRD
	$(BIN)/python tools/modelgen/vendor_schema.py
	$(BIN)/python tools/modelgen/generate.py
	$(BIN)/python tools/modelgen/crd.py

docs: $(STAMP)  ## serve the documentation site on http://127.0.0.1:8000, rebuilt on change
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

docs-build: $(STAMP)  ## build the documentation site into site/ (strict: broken links fail)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-generate: $(STAMP)  ## refresh the generated reference pages (CLI, settings, JobSink fields)
	PYTHONPATH=tools $(BIN)/python -m docgen

run: $(STAMP)  ## local control plane and node (built on first use) + webhook + receiver, and the story
	$(BIN)/jobsink dev

manifests: $(STAMP)  ## render the install bundle dist/jobsink.yaml
	$(BIN)/jobsink manifests --out dist/jobsink.yaml

bench-webhook: $(STAMP)  ## admission webhook latency/throughput benchmark
	$(BIN)/python bench/webhook_bench.py

bench-webhook-apply: $(STAMP) controlplane node knative  ## kubectl apply of the docs' JobSink: no webhook, ours (dry-run on, off), Knative's
	JOBSINK_NODE_SERVICES_WAIT=$${JOBSINK_NODE_SERVICES_WAIT:-1800} $(BIN)/python bench/webhook_apply.py

BENCH_RECEIVER_ARGS ?=
bench-receiver: $(STAMP) controlplane knative  ## receiver ingest on the local apiserver, side by side with Knative's (BENCH_RECEIVER_ARGS="--contenders ours,knative --no-classic --no-auth")
	$(BIN)/python bench/receiver_bench.py $(BENCH_RECEIVER_ARGS)

bench-kueue: $(STAMP) controlplane kueue  ## receiver ingest with Kueue's webhooks: none, a Job without a queue name, a queued Job
	$(BIN)/python bench/kueue_bench.py

bench-node: $(STAMP) controlplane node  ## local node: warm start, 202 -> Pod Running/Succeeded, memory
	$(BIN)/python tools/bench_node.py
bench-cluster: $(STAMP) controlplane node buildkit  ## in-cluster ingest (a sender Pod through the Service) next to the loopback figure
	$(BIN)/python bench/cluster_ingest.py
SOAK_ARGS ?=
bench-soak: $(STAMP) controlplane  ## steady events for 30 min with faults on a schedule, then the audit (SOAK_ARGS="--minutes 3")
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:  ## remove the venv and build outputs (the control-plane cache stays)
	rm -rf $(VENV) dist site .mypy_cache .ruff_cache .pytest_cache
