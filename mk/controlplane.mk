# The control plane of tests/controlplane: etcd, kube-apiserver,
# kube-controller-manager and kubectl, KServe's manager, KubeRay's operator
# and the KServe/Knative/KubeRay CRDs, built from Go modules (versions in
# controlplane/versions.env) into a cache folder keyed by version, outside
# the clone. Cold: ~25 min on 2 cores; cached: a few seconds.
##@ Develop
.PHONY: controlplane test-controlplane

controlplane: ## build (once per version) the control plane the control-plane tests run
	controlplane/build.sh

test-controlplane: $(VENV)/.installed-dev controlplane ## KServe's webhooks and controller on a real kube-apiserver: overlays, canary CLI, RayJob
	$(PY) -m pytest tests/controlplane $(PYTEST_ARGS)

TEST_PREREQS += controlplane
