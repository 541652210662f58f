"""Strict validation of rendered objects against real schemas, offline.

Core Kubernetes kinds go to ``kubernetes-validate`` (the upstream OpenAPI
schemas, strict mode). KServe kinds are checked against the ``kserve`` SDK's
generated models: the SDK's own deserializer ignores unknown keys and coerces
types, so :func:`check_model` walks ``openapi_types``/``attribute_map`` itself
and rejects unknown fields and wrong types, then builds the model so that its
required-field checks run too.
"""

from __future__ import annotations

import re
from typing import Any

#: The Kubernetes version the manifests target (the kind node image's minor).
KUBERNETES_VERSION = "1.34.0"
#: KServe kinds -> SDK model class names.
KSERVE_MODELS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService",
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "V1alpha1ServingRuntime",
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): "V1alpha1ClusterServingRuntime",
    ("serving.kserve.io/v1alpha1", "InferenceGraph"): "V1alpha1InferenceGraph",
}
#: Kinds for which no schema package exists, each with the reason. A new
#: kind must be added here deliberately (or get a validator).
UNVALIDATED_KINDS: dict[tuple[str, str], str] = {
    ("ray.io/v1", "RayCluster"): "KubeRay publishes no Python schema package; "
    "the e2e-kind workflow applies it with --dry-run=server",
    ("ray.io/v1", "RayJob"): "as RayCluster",
    ("ray.io/v1", "RayService"): "as RayCluster",
    ("monitoring.coreos.com/v1", "PodMonitor"): "the Prometheus Operator publishes no Python"
    " schema package; tests/integration/test_monitoring_manifests.py checks the fields",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "as PodMonitor; its rules pass promtool",
}
#: Resource quantities are int-or-string in the API; the SDK types them str.
QUANTITY_MAPS = {"limits", "requests"}
# kserve's models spell containers list[X] / dict(str, X); the kubernetes
# client's (pydantic) models spell them List[X] / Dict[str, X].
_LIST = re.compile(r"[lL]ist\[(.*)\]$")
_DICT = re.compile(r"(?:dict\(([^,]*), (.*)\)|Dict\[([^,]*), (.*)\])$")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "date": (str,),
    "datetime": (str,),
}


def _model_class(name: str) -> Any:
    import kserve.models
    import kubernetes.client.models

    for module in (kserve.models, kubernetes.client.models):
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(f"no SDK model named {name}")


def _check_primitive(value: Any, type_name: str, path: str, key: str) -> list[str]:
    allowed = _PRIMITIVES[type_name]
    if type_name == "str" and key in QUANTITY_MAPS and isinstance(value, int | float):
        return []
    if isinstance(value, bool) and bool not in allowed:
        return [f"{path}: expected {type_name}, got bool {value!r}"]
    if not isinstance(value, allowed):
        return [f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"]
    return []


def check_value(value: Any, type_name: str, path: str, key: str = "") -> list[str]:
    """Errors for ``value`` against an SDK type string (``list[V1Container]``...)."""
    if value is None or type_name == "object":
        return []
    if match := _LIST.match(type_name):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [e for i, v in enumerate(value) for e in check_value(v, match[1], f"{path}[{i}]")]
    if match := _DICT.match(type_name):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {type(value).__name__}"]
        item_type = match[2] or match[4]
        return [e for k, v in value.items() for e in check_value(v, item_type, f"{path}.{k}", key)]
    if type_name in _PRIMITIVES:
        return _check_primitive(value, type_name, path, key)
    return check_model(value, type_name, path)


def check_model(data: Any, class_name: str, path: str = "") -> list[str]:
    """Errors for a JSON object against an SDK model: unknown keys, wrong
    types, and missing required fields (the model's own setters)."""
    klass = _model_class(class_name)
    if not isinstance(data, dict):
        return [f"{path or class_name}: expected an object ({class_name})"]
    by_json = {json_key: attr for attr, json_key in klass.attribute_map.items()}
    errors = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key not in by_json:
            errors.append(f"{where}: unknown field (allowed: {', '.join(sorted(by_json))})")
            continue
        errors += check_value(value, klass.openapi_types[by_json[key]], where, key)
    if not errors:
        errors += _required(klass, data, by_json, path or class_name)
    return errors


def _required(klass: Any, data: dict[str, Any], by_json: dict[str, str], path: str) -> list[str]:
    fields = getattr(klass, "model_fields", None)
    if fields is not None:  # a pydantic model (kubernetes client)
        missing = [klass.attribute_map[a] for a, f in fields.items() if f.is_required()]
        missing = [m for m in missing if m not in data]
        return [f"{path}: missing required field {m}" for m in missing]
    kwargs = {by_json[k]: v for k, v in data.items()}
    try:
        klass(**kwargs)
    except ValueError as exc:
        return [f"{path}: {exc}"]
    return []


def validate(obj: dict[str, Any]) -> list[str]:
    """Errors for one rendered object, whatever its kind."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    name = f"{key[1]}/{obj.get('metadata', {}).get('name', '?')}"
    if key in KSERVE_MODELS:
        return [f"{name}: {e}" for e in check_model(obj, KSERVE_MODELS[key])]
    if key in UNVALIDATED_KINDS:
        return []
    return [f"{name}: {e}" for e in _core_errors(obj)]


def _core_errors(obj: dict[str, Any]) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.path) or '<root>'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"no schema for {exc} (add a validator or an UNVALIDATED_KINDS entry)"]
    return []
