// Package crds pins the prometheus-operator API types whose CustomResourceDefinitions
// (PodMonitor, PrometheusRule, ...) the control-plane tests install: controller-gen
// generates them from these Go types (see controlplane/build.sh).
package crds

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
