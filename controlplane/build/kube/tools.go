//go:build tools

// Package tools pins the Kubernetes commands the control-plane tests run;
// `go build k8s.io/kubernetes/cmd/<name>` builds them from this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
