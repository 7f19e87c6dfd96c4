#!/usr/bin/env python3
"""Checks of the Helm chart helm/tco-gateway: Helm's engine as a library, and the real Helm v3 and v4.

Installed by CI with `python3 -m pip install -r .ci/helm_requirements.txt` and
`.ci/install-helm.sh DIR` (the official helm binaries, pinned by sha256), run as
`python3 .ci/helm_checks.py --helm3 DIR/helm3 --helm4 DIR/helm4` (or $HELM3 and
$HELM4) from anywhere; without both binaries it refuses to run. For each
scenario (chart defaults; every optional feature on; credentials given as values):

1. Helm's own lint (strict) and template rendering, through helm-python-sdk
   (Helm v4's Go engine as a library): helm_python.lint, Chart.render.
2. The same with the real binaries, Helm v3 and Helm v4: `helm lint --strict`,
   `helm template` and `helm install --dry-run=client`, the values passed as a
   file (-f) as a user would. The renders must hold the same objects (compared
   after parsing: comments, key order and quoting aside): the SDK's and
   helm4's, helm3's and helm4's, helm4's install and template; the install's
   NOTES must be the SDK's NOTES.txt. Helm v3.18 will not run
   `install --dry-run=client` without a reachable cluster (it asks for the
   server version, API discovery and existing objects first, helm/helm#13144),
   so helm3 gets a kubeconfig naming a read-only stand-in for an empty cluster
   in this script (discovery of the chart's group versions, empty lists, 404
   for every named object; a write is refused and fails a check): it validates
   and stores nothing, and helm3 runs with --disable-openapi-validation. helm4 gets a kubeconfig whose API
   server refuses connections. Each binary has a throwaway Helm home.
3. What the chart promises, asserted on the rendered objects: the hardened pod,
   gRPC probes on the plaintext health-only port, terminationGracePeriodSeconds
   above drain + shutdown timeout, credentials only through secretKeyRef, the
   checksum annotation, TLS / client CA / policy / JWKS files as read-only
   volumes (never subPath) named by TCO_* paths, the policy parsed back as
   TOML, no secret material in any ConfigMap, the NetworkPolicy by default, ...
4. Every rendered manifest validated against the Kubernetes OpenAPI schemas
   with kubernetes-validate (strict: unknown fields fail). CRD kinds
   (ServiceMonitor, cert-manager's Certificate) have no schema there and are
   skipped, and say so. This is schema validation on this machine, not an API
   server's: no server-side validation happens anywhere here.
5. checkov (framework kubernetes) on the rendered manifests: no failed check;
   every skip must carry its reason in the chart (checkov.io/skip annotations).

Then cases proving values.schema.json rejects bad values (the SDK's render and
lint, helm3's and helm4's template and lint --strict, helm4's install: all must
fail, naming the schema and the value: Helm v3 validates with another JSON
Schema library than v4, so both are run), other renders (plaintext with
insecure: true, NetworkPolicy off, every source an existing object; the SDK,
helm3 and helm4 rendering the same) and the templates refusing inconsistent
settings (TLS off without insecure: true, a Certificate without an issuer, ...;
`helm lint` is not asked there: in lint mode Helm turns `fail` into a log line).
Ends with "N passed, M failed"; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import itertools
import json
import os
import re
import shutil
import http.server
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
import traceback
from pathlib import Path
from typing import Any, Callable

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "tco-gateway"
RELEASE = "tco-gateway"
NAMESPACE = "payments"
# The Kubernetes release manifests are validated against (shipped by the pinned kubernetes-validate).
KUBE_VERSION = "1.35.0"
# API groups of custom resources: kubernetes-validate ships no schema for them.
CRD_GROUPS = {"monitoring.coreos.com", "cert-manager.io"}
SECRET_ENV = {
    "TCO_ADMIN_API__USERNAME",
    "TCO_ADMIN_API__PASSWORD",
    "TCO_PAYMENT_API__SELLER_ID",
    "TCO_PAYMENT_API__PRIVATE_KEY",
    "TCO_REDIS__URL",
    "TCO_INS__SECRET_WORD",
}
PER_REPLICA_WARNING = "SEVERAL PODS WITHOUT REDIS"
EMPTY_POLICY_WARNING = "EVERY CALL IS UNAUTHENTICATED"
PLAINTEXT_WARNING = "WARNING: PLAINTEXT"
# Where the chart mounts what the gateway re-reads (templates/_helpers.tpl).
TLS_DIR, CLIENT_CA_DIR, POLICY_DIR, JWKS_DIR = (
    "/etc/tco-gateway/tls", "/etc/tco-gateway/client-ca", "/etc/tco-gateway/policy", "/etc/tco-gateway/jwks")
# Secret material that must never be in a ConfigMap (PEM private keys, and the credentials of ci/*-values.yaml).
SECRET_MARKERS = ("PRIVATE KEY", "ci-not-a-real-password", "CI-NOT-A-REAL-PRIVATE-KEY", "ci-not-a-real-redis-password",
                  "ci-not-a-real-ins-secret-word")
INS_SERVICE = f"{RELEASE}-ins"
NO_INS_TLS_WARNING = "THE INS INGRESS HAS NO TLS"

passed = 0
failed: list[str] = []


def check(name: str, fn: Callable[[], Any]) -> Any:
    """Runs one check, prints PASS/FAIL, and counts it."""
    global passed
    try:
        result = fn()
    except AssertionError as exc:
        failed.append(name)
        print(f"FAIL  {name}\n      {exc}", flush=True)
        return None
    except Exception:  # noqa: BLE001 - a crash in a check is a failed check
        failed.append(name)
        print(f"FAIL  {name}\n" + "".join("      " + line for line in traceback.format_exc().splitlines(True)), flush=True)
        return None
    passed += 1
    print(f"ok    {name}", flush=True)
    return result


def load_values(name: str | None) -> dict[str, Any] | None:
    return None if name is None else yaml.safe_load((CHART / "ci" / name).read_text())


def render(values: dict[str, Any] | None) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def lint(values: dict[str, Any] | None) -> dict[str, Any]:
    return helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")


def objects_of(manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(template path, object) for every rendered Kubernetes object."""
    out = []
    for path, text in sorted(manifests.items()):
        if not path.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append((path, doc))
    return out


def by_kind(objs: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [o for _, o in objs if o["kind"] == kind]


def one(objs: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, Any]:
    found = by_kind(objs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def env_config(objs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The ConfigMap of TCO_* settings (envFrom); the policy has a ConfigMap of its own."""
    found = [o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"] == RELEASE]
    assert len(found) == 1, f"expected one ConfigMap named {RELEASE}, found {len(found)}"
    return found[0]


def grpc_service(objs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The gRPC Service (the INS receiver has a Service of its own)."""
    found = [o for o in by_kind(objs, "Service") if o["metadata"]["name"] == RELEASE]
    assert len(found) == 1, f"expected one Service named {RELEASE}, found {len(found)}"
    return found[0]


def volumes_of(objs: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(volumes by name, the gateway container's mounts by name)."""
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["name"]: m for m in pod["containers"][0].get("volumeMounts", [])}
    return volumes, mounts


# --- what the chart promises --------------------------------------------------------------------


def assert_common(objs: list[tuple[str, dict[str, Any]]], values: dict[str, Any]) -> None:
    for _, o in objs:
        labels = o["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert key in labels, f"{o['kind']}/{o['metadata']['name']} lacks label {key}"
        assert o["metadata"].get("namespace") == NAMESPACE, f"{o['kind']} lacks metadata.namespace"

    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    psc, csc = pod["securityContext"], container["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 10001, psc
    assert psc["seccompProfile"]["type"] == "RuntimeDefault", psc
    assert csc["readOnlyRootFilesystem"] is True, csc
    assert csc["allowPrivilegeEscalation"] is False, csc
    assert csc["capabilities"]["drop"] == ["ALL"], csc
    assert csc["runAsNonRoot"] is True and csc["runAsUser"] == 10001, csc
    assert csc["seccompProfile"]["type"] == "RuntimeDefault", csc
    assert pod["automountServiceAccountToken"] is False
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert "requests" in container["resources"] and "limits" in container["resources"]

    # Native gRPC probes on the plaintext health-only port (the kubelet can do neither TLS nor client
    # certificates), readiness on the SalesService health entry; the gRPC Service port is unchanged.
    v = helm_values(values)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    port, health_port = ports["grpc"], ports["health"]
    assert health_port == v["health"]["port"] and health_port != port, ports
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == health_port, f"{probe} is not a gRPC probe on the health port {health_port}"
    assert container["readinessProbe"]["grpc"].get("service") == "twocheckout.v1.SalesService"
    svc_ports = {p["name"]: p for p in grpc_service(objs)["spec"]["ports"]}
    assert svc_ports["grpc"]["port"] == v["service"]["port"] and svc_ports["grpc"]["targetPort"] == "grpc", svc_ports
    assert "health" not in svc_ports, "the plaintext health port must not be in the Service"

    # The kubelet's SIGKILL must not land before drain + in-flight deadline.
    shutdown = helm_values(values)["shutdown"]
    need = shutdown["drainPeriodSeconds"] + shutdown["timeoutSeconds"]
    assert pod["terminationGracePeriodSeconds"] > need, (
        f"terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} <= drain + timeout {need}")

    # Configuration through the ConfigMap (envFrom); a change rolls the pods.
    cm = env_config(objs)
    assert container["envFrom"] == [{"configMapRef": {"name": cm["metadata"]["name"]}}]
    assert cm["data"]["TCO_SERVER__LISTEN_ADDR"] == f"0.0.0.0:{port}"
    assert cm["data"]["TCO_SERVER__HEALTH_LISTEN_ADDR"] == f"0.0.0.0:{health_port}"
    assert cm["data"]["TCO_SERVER__INSECURE"] == str(v["insecure"]).lower()
    assert cm["data"]["TCO_SERVER__REFLECTION"] == str(v["reflection"]).lower()
    assert_tls_and_auth(objs, v)
    assert cm["data"]["TCO_SERVER__DRAIN_PERIOD"] == f"{shutdown['drainPeriodSeconds']}s"
    assert cm["data"]["TCO_SERVER__SHUTDOWN_TIMEOUT"] == f"{shutdown['timeoutSeconds']}s"
    # Never the built-in simulator in a cluster: missing credentials stop the pod instead.
    assert cm["data"]["TCO_UPSTREAM__MODE"] == "twocheckout", cm["data"].get("TCO_UPSTREAM__MODE")
    assert "OTEL_SERVICE_NAME" in cm["data"]
    assert "checksum/config" in dep["spec"]["template"]["metadata"]["annotations"]

    # Credentials: never in the ConfigMap, never a plain value in the pod spec.
    assert not SECRET_ENV & set(cm["data"]), f"credential variable in the ConfigMap: {SECRET_ENV & set(cm['data'])}"
    for env in container.get("env", []):
        if env["name"] in SECRET_ENV:
            assert "value" not in env and "secretKeyRef" in env.get("valueFrom", {}), f"{env['name']} not from a Secret"

    assert_ins(objs, v)

    svc = grpc_service(objs)
    grpc_port = next(p for p in svc["spec"]["ports"] if p["name"] == "grpc")
    assert grpc_port["appProtocol"] == "grpc" and grpc_port["targetPort"] == "grpc", grpc_port
    sa = one(objs, "ServiceAccount")
    assert sa["automountServiceAccountToken"] is False


def helm_values(values: dict[str, Any] | None) -> dict[str, Any]:
    with helm.Chart.load(CHART) as chart:
        return chart.merge_values(values)


def assert_tls_and_auth(objs: list[tuple[str, dict[str, Any]]], v: dict[str, Any]) -> None:
    """TLS files and the policy (and JWKS) reach the gateway as read-only volumes (never subPath, so
    rotations reach the running pod), by paths in the ConfigMap; no secret material in any ConfigMap."""
    cm = env_config(objs)["data"]
    volumes, mounts = volumes_of(objs)
    for name, mount in mounts.items():
        assert mount.get("readOnly") is True, f"volume {name} is mounted writable"
        assert "subPath" not in mount, f"volume {name} is mounted with subPath: updates would never reach the pod"
    tls = v["tls"]
    if tls["enabled"]:
        secret_name = tls["secretName"] or f"{RELEASE}-tls"
        assert volumes["tls"]["secret"]["secretName"] == secret_name, volumes["tls"]
        assert volumes["tls"]["secret"]["defaultMode"] == 0o440, "the TLS key must be readable by fsGroup only"
        pod = one(objs, "Deployment")["spec"]["template"]["spec"]
        assert pod["securityContext"].get("fsGroup"), "fsGroup unset: the gateway could not read its 0440 key"
        assert mounts["tls"]["mountPath"] == TLS_DIR
        assert (cm["TCO_SERVER__TLS__CERT_FILE"], cm["TCO_SERVER__TLS__KEY_FILE"]) == (f"{TLS_DIR}/tls.crt", f"{TLS_DIR}/tls.key")
        ca = tls["clientCa"]
        if not ca["enabled"]:
            assert "TCO_SERVER__TLS__CLIENT_CA_FILE" not in cm and "client-ca" not in volumes
        elif ca["source"] == "tlsSecret":
            assert cm["TCO_SERVER__TLS__CLIENT_CA_FILE"] == f"{TLS_DIR}/ca.crt" and "client-ca" not in volumes
        else:
            assert cm["TCO_SERVER__TLS__CLIENT_CA_FILE"] == f"{CLIENT_CA_DIR}/ca.crt"
            source = volumes["client-ca"][ca["source"]]
            assert source.get("secretName", source.get("name")) == ca["name"], source
            assert source["items"] == [{"key": ca["key"], "path": "ca.crt"}], source
            assert mounts["client-ca"]["mountPath"] == CLIENT_CA_DIR
    else:
        assert not [k for k in cm if k.startswith("TCO_SERVER__TLS__")] and "tls" not in volumes, "TLS wired although disabled"
        assert cm["TCO_SERVER__INSECURE"] == "true", "plaintext without TCO_SERVER__INSECURE=true would not start"
    # The policy, always: the chart's ConfigMap or one the operator manages.
    policy = v["auth"]["policy"]
    want = policy["existingConfigMap"] if policy["existingConfigMap"]["name"] else {"name": f"{RELEASE}-policy", "key": "policy.toml"}
    assert volumes["policy"]["configMap"]["name"] == want["name"], volumes["policy"]
    assert volumes["policy"]["configMap"]["items"] == [{"key": want["key"], "path": "policy.toml"}]
    assert mounts["policy"]["mountPath"] == POLICY_DIR and cm["TCO_AUTH__POLICY_FILE"] == f"{POLICY_DIR}/policy.toml"
    policy_maps = [o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"] == f"{RELEASE}-policy"]
    assert len(policy_maps) == (0 if policy["existingConfigMap"]["name"] else 1), policy_maps
    for o in policy_maps:
        parsed = tomllib.loads(o["data"]["policy.toml"])
        callers = parsed.get("caller", [])
        assert [c["identity"] for c in callers] == [c["identity"] for c in policy["callers"]], parsed
        for got, given in zip(callers, policy["callers"]):
            assert got["methods"] == given["methods"], got
            if "maxRefund" in given:
                assert got["max_refund"] == given["maxRefund"] and isinstance(got["max_refund"]["amount"], str), got
    # JWKS: only when a source is named, with issuer and audience.
    jwks = v["auth"]["jwks"]
    source = next((s for s in ("existingSecret", "existingConfigMap") if jwks[s]["name"]), None)
    if source is None:
        assert "jwks" not in volumes and not {"TCO_AUTH__JWKS_FILE", "TCO_AUTH__ISSUER", "TCO_AUTH__AUDIENCE"} & set(cm)
    else:
        kind = "secret" if source == "existingSecret" else "configMap"
        vol = volumes["jwks"][kind]
        assert vol.get("secretName", vol.get("name")) == jwks[source]["name"], vol
        assert vol["items"] == [{"key": jwks[source]["key"], "path": "jwks.json"}], vol
        assert cm["TCO_AUTH__JWKS_FILE"] == f"{JWKS_DIR}/jwks.json" and mounts["jwks"]["mountPath"] == JWKS_DIR
        assert (cm["TCO_AUTH__ISSUER"], cm["TCO_AUTH__AUDIENCE"]) == (v["auth"]["issuer"], v["auth"]["audience"])
    # No secret material in any ConfigMap.
    for o in by_kind(objs, "ConfigMap"):
        text = json.dumps(o["data"])
        leaked = [m for m in SECRET_MARKERS if m in text]
        assert not leaked, f"secret material in ConfigMap {o['metadata']['name']}: {leaked}"


def assert_ins(objs: list[tuple[str, dict[str, Any]]], v: dict[str, Any]) -> None:
    """The INS receiver: off, nothing of it is rendered; on, its port, its settings in the ConfigMap,
    the secret word only through secretKeyRef, a Service of its own that never carries the gRPC port,
    an Ingress routing exactly /ins (only when asked for) and a NetworkPolicy rule of its own that
    leaves the gRPC rule as it was."""
    ins = v["ins"]
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    cm = env_config(objs)["data"]
    env = {e["name"]: e for e in container.get("env", [])}
    ins_services = [o for o in by_kind(objs, "Service") if o["metadata"]["name"] == INS_SERVICE]
    ingresses = by_kind(objs, "Ingress")
    policies = by_kind(objs, "NetworkPolicy")
    rules = policies[0]["spec"]["ingress"] if policies else []
    ins_rules = [r for r in rules if {"port": "ins", "protocol": "TCP"} in r.get("ports", [])]
    if not ins["enabled"]:
        assert "ins" not in ports, f"INS port declared although ins.enabled is false: {ports}"
        assert not [k for k in cm if k.startswith("TCO_INS__")], "INS settings rendered although ins.enabled is false"
        assert "TCO_INS__SECRET_WORD" not in env, "INS secret word wired although ins.enabled is false"
        assert not ins_services and not ingresses and not ins_rules, "INS Service, Ingress or NetworkPolicy rule rendered while off"
        return

    # The listener and its settings (non-secret: the ConfigMap).
    assert ports["ins"] == ins["port"] and ins["port"] not in (ports["grpc"], ports["health"], ports.get("metrics")), ports
    want = {
        "TCO_INS__LISTEN_ADDR": f"0.0.0.0:{ins['port']}",
        "TCO_INS__MAX_BODY_BYTES": str(ins["maxBodyBytes"]),
        "TCO_INS__MAX_FIELDS": str(ins["maxFields"]),
        "TCO_INS__RATE_LIMIT_PER_SECOND": str(ins["rateLimitPerSecond"]),
        "TCO_INS__RATE_LIMIT_BURST": str(ins["rateLimitBurst"]),
        "TCO_INS__RETENTION": ins["retention"],
        "TCO_INS__MEMORY_CAPACITY": str(ins["memoryCapacity"]),
    }
    if ins["vendorId"]:
        want["TCO_INS__VENDOR_ID"] = str(ins["vendorId"])
    got = {k: val for k, val in cm.items() if k.startswith("TCO_INS__")}
    assert got == want, f"INS settings in the ConfigMap: {got}, expected {want}"

    # The secret word: only through secretKeyRef, from the Secret the values name.
    word = env.get("TCO_INS__SECRET_WORD")
    assert word is not None, "TCO_INS__SECRET_WORD is not wired"
    assert "value" not in word and set(word["valueFrom"]) == {"secretKeyRef"}, f"secret word not from a Secret: {word}"
    source = (ins["existingSecret"] if ins["existingSecret"]["name"]
              else {"name": RELEASE, "key": "ins-secret-word"})
    assert word["valueFrom"]["secretKeyRef"] == source, word
    for o in by_kind(objs, "ConfigMap"):
        assert "TCO_INS__SECRET_WORD" not in o["data"], f"the secret word variable in ConfigMap {o['metadata']['name']}"
        if ins["secretWord"]:
            assert ins["secretWord"] not in json.dumps(o["data"]), f"the secret word in ConfigMap {o['metadata']['name']}"

    # A Service of its own with the INS port alone; the gRPC Service never gets it.
    assert len(ins_services) == 1, f"expected the Service {INS_SERVICE}, found {len(ins_services)}"
    svc = ins_services[0]["spec"]
    assert svc["ports"] == [{"name": "http-ins", "port": ins["service"]["port"], "targetPort": "ins", "protocol": "TCP",
                             "appProtocol": "http"}], f"the INS Service must carry http-ins alone: {svc['ports']}"
    assert svc["type"] == ins["service"]["type"] and svc["selector"] == grpc_service(objs)["spec"]["selector"], svc
    assert ins_services[0]["metadata"].get("annotations", {}) == ins["service"]["annotations"]
    grpc_ports = grpc_service(objs)["spec"]["ports"]
    assert not [p for p in grpc_ports if p["targetPort"] == "ins" or p["name"] == "http-ins"], grpc_ports

    # The Ingress: only when enabled, exactly /ins (Exact) to the INS Service, on every host given.
    if not ins["ingress"]["enabled"]:
        assert not ingresses, "an Ingress was rendered although ins.ingress.enabled is false"
    else:
        (ing,) = ingresses
        spec = ing["spec"]
        assert ing["metadata"]["name"] == INS_SERVICE, ing["metadata"]
        assert [r.get("host") for r in spec["rules"]] == (ins["ingress"]["hosts"] or [None]), spec["rules"]
        for rule in spec["rules"]:
            assert rule["http"]["paths"] == [{"path": "/ins", "pathType": "Exact", "backend": {
                "service": {"name": INS_SERVICE, "port": {"name": "http-ins"}}}}], f"the Ingress routes more than /ins: {rule}"
        assert spec.get("ingressClassName") == (ins["ingress"]["className"] or None), spec
        assert spec.get("tls", []) == ins["ingress"]["tls"], spec
        assert ing["metadata"].get("annotations", {}) == ins["ingress"]["annotations"]

    # The NetworkPolicy: one rule for the INS port with its own peers (none listed: any source);
    # the gRPC rule keeps its own peers and its one port.
    if v["networkPolicy"]["enabled"]:
        assert len(ins_rules) == 1, f"expected one NetworkPolicy rule for the INS port: {rules}"
        rule = ins_rules[0]
        assert rule["ports"] == [{"port": "ins", "protocol": "TCP"}], rule
        peers = ins["networkPolicy"]["from"]
        assert rule.get("from") == (peers or None), f"INS rule peers {rule.get('from')}, expected {peers or 'any source'}"
        grpc_rules = [r for r in rules if {"port": "grpc", "protocol": "TCP"} in r.get("ports", [])]
        assert grpc_rules == [{"ports": [{"port": "grpc", "protocol": "TCP"}], "from": v["networkPolicy"]["ingress"]["from"]}], \
            f"the INS rule widened the gRPC rule: {grpc_rules}"


def assert_defaults(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = sorted(o["kind"] for _, o in objs)
    assert kinds == ["ConfigMap", "ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"], kinds
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["terminationGracePeriodSeconds"] == 35, pod["terminationGracePeriodSeconds"]
    assert env_config(objs)["data"]["TCO_LOG__FORMAT"] == "json"
    assert env_config(objs)["data"]["TCO_UPSTREAM__MODE"] == "twocheckout", "the default render must not allow the simulator"
    assert not [e for e in container["env"] if e["name"] in SECRET_ENV], "credentials wired although none are given"
    spread = pod["topologySpreadConstraints"]
    assert spread and all(c["whenUnsatisfiable"] == "ScheduleAnyway" for c in spread), spread
    assert [p["name"] for p in container["ports"]] == ["grpc", "health", "metrics"], container["ports"]
    cm = env_config(objs)["data"]
    # INS is opt-in: no internet-facing listener, Service or rule unless asked for.
    assert "TCO_INS__LISTEN_ADDR" not in cm and not by_kind(objs, "Ingress"), "the INS receiver is on by default"
    # Secure defaults: TLS with mTLS (ca.crt of the TLS Secret), a policy, reflection on, never insecure.
    assert cm["TCO_SERVER__TLS__CERT_FILE"] == f"{TLS_DIR}/tls.crt", "TLS is not on by default"
    assert cm["TCO_SERVER__TLS__CLIENT_CA_FILE"] == f"{TLS_DIR}/ca.crt", "mTLS is not on by default"
    assert cm["TCO_AUTH__POLICY_FILE"] == f"{POLICY_DIR}/policy.toml", "no policy by default"
    assert (cm["TCO_SERVER__INSECURE"], cm["TCO_SERVER__REFLECTION"]) == ("false", "true")
    assert container["readinessProbe"]["grpc"]["port"] == 8081
    assert not by_kind(objs, "Certificate"), "cert-manager is opt-in"
    # The NetworkPolicy is on by default, so checkov's NetworkPolicy check is not skipped.
    np = one(objs, "NetworkPolicy")["spec"]
    assert np["ingress"][0] == {"ports": [{"port": "grpc", "protocol": "TCP"}], "from": [{"podSelector": {}}]}, np["ingress"]
    assert not [k for k, a in dep["metadata"].get("annotations", {}).items() if a.startswith("CKV2_K8S_6=")]
    assert cm["OTEL_METRICS_EXPORTER"] == "prometheus", "no OTLP endpoint: Prometheus only"
    assert (cm["OTEL_EXPORTER_PROMETHEUS_HOST"], cm["OTEL_EXPORTER_PROMETHEUS_PORT"]) == ("0.0.0.0", "9464")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in cm, "nothing is exported over OTLP by default"
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert "kubectl --namespace payments port-forward" in notes, notes
    assert "grpcurl -cacert ca.crt -cert client.crt -key client.key -servername tco-gateway.payments.svc localhost:50051 list" in notes
    assert "grpcurl -plaintext" not in notes.split("Health (plaintext")[0], "NOTES.txt offers plaintext gRPC with TLS on"
    assert "Secret tco-gateway-tls exists" in notes, "NOTES.txt does not say the TLS Secret must be created"
    assert EMPTY_POLICY_WARNING in notes, "NOTES.txt does not warn that the empty default policy refuses every call"
    assert PLAINTEXT_WARNING not in notes and "INS receiver" not in notes
    assert "NO 2CHECKOUT ADMIN API CREDENTIALS" in notes and "TCO_ADMIN_API__USERNAME" in notes, \
        "NOTES.txt does not warn that the pods will not start without credentials"
    assert dep["spec"]["replicas"] == 1, "without Redis the default is one pod (per-process state)"
    assert PER_REPLICA_WARNING not in notes, "one pod needs no warning about per-replica state"


def assert_all_features(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = sorted(o["kind"] for _, o in objs)
    assert kinds == sorted(["Certificate", "ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress",
                            "NetworkPolicy", "PodDisruptionBudget", "Service", "Service", "ServiceAccount",
                            "ServiceMonitor"]), kinds
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    assert container["image"].startswith("registry.example.internal/payments/tco-gateway@sha256:")
    assert pod["terminationGracePeriodSeconds"] == 55
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] in SECRET_ENV}
    assert set(refs) == SECRET_ENV, refs
    redis = refs.pop("TCO_REDIS__URL")
    assert redis == {"name": "tco-gateway-redis", "key": "url"}, f"TCO_REDIS__URL not from redis.existingSecret: {redis}"
    ins_word = refs.pop("TCO_INS__SECRET_WORD")
    assert ins_word == {"name": "tco-gateway-ins", "key": "secret-word"}, f"the INS secret word not from ins.existingSecret: {ins_word}"
    assert all(r["name"] == "tco-gateway-credentials" for r in refs.values()), refs
    assert refs["TCO_ADMIN_API__PASSWORD"]["key"] == "password"
    assert not by_kind(objs, "Secret"), "a Secret was created although existingSecret is set"
    cm = env_config(objs)["data"]
    assert cm["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability.svc:4317"
    assert cm["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio" and cm["OTEL_SERVICE_NAME"] == "tco-gateway-payments"
    assert cm["OTEL_METRICS_EXPORTER"] == "otlp,prometheus", cm["OTEL_METRICS_EXPORTER"]
    attrs = next(e["value"] for e in container["env"] if e["name"] == "OTEL_RESOURCE_ATTRIBUTES")
    assert "deployment.environment=production" in attrs and "k8s.pod.name=$(K8S_POD_NAME)" in attrs, attrs
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"] == 9464
    svc_ports = {p["name"]: p for p in grpc_service(objs)["spec"]["ports"]}
    assert svc_ports["metrics"]["port"] == 9464
    sm = one(objs, "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["port"] == "metrics" and sm["spec"]["endpoints"][0]["path"] == "/metrics"
    np = one(objs, "NetworkPolicy")["spec"]
    egress_ports = {(p["port"], p["protocol"]) for rule in np["egress"] for p in rule.get("ports", [])}
    assert {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6380, "TCP"), (4317, "TCP")} <= egress_ports, egress_ports
    assert np["ingress"][0]["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    ins_rule = next(r for r in np["ingress"] if r["ports"] == [{"port": "ins", "protocol": "TCP"}])
    assert ins_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}], ins_rule
    assert cm["TCO_INS__LISTEN_ADDR"] == "0.0.0.0:8088" and cm["TCO_INS__VENDOR_ID"] == "901248156", cm
    ingress = one(objs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx" and ingress["spec"]["rules"][0]["host"] == "ins.payments.example.com"
    assert ingress["spec"]["tls"] == [{"secretName": "tco-gateway-ins-tls", "hosts": ["ins.payments.example.com"]}]
    assert one(objs, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"
    # cert-manager writes the TLS Secret the pod mounts; the default DNS names are the Service's.
    cert = one(objs, "Certificate")
    assert cert["apiVersion"] == "cert-manager.io/v1" and cert["spec"]["secretName"] == "tco-gateway-server-tls", cert
    assert cert["spec"]["issuerRef"] == {"name": "payments-internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    assert cert["spec"]["dnsNames"] == ["tco-gateway", "tco-gateway.payments", "tco-gateway.payments.svc",
                                        "tco-gateway.payments.svc.cluster.local"], cert["spec"]["dnsNames"]
    assert cert["spec"]["privateKey"]["rotationPolicy"] == "Always"
    assert (cm["TCO_SERVER__TLS__CLIENT_CA_FILE"], cm["TCO_AUTH__JWKS_FILE"]) == (
        f"{CLIENT_CA_DIR}/ca.crt", f"{JWKS_DIR}/jwks.json"), cm
    assert (cm["TCO_AUTH__ISSUER"], cm["TCO_AUTH__AUDIENCE"]) == ("https://kubernetes.default.svc.cluster.local", "tco-gateway-payments")
    assert cm["TCO_SERVER__REFLECTION"] == "false" and cm["TCO_SERVER__HEALTH_LISTEN_ADDR"] == "0.0.0.0:8090"
    policy = tomllib.loads(next(o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"] == "tco-gateway-policy")
                           ["data"]["policy.toml"])
    assert policy["caller"][0] == {
        "identity": "spiffe://payments.internal/support-tool",
        "methods": ["twocheckout.v1.SalesService/GetSale", "twocheckout.v1.SalesService/RefundInvoice"],
        "max_refund": {"amount": "100.00", "currency": "USD"},
        "rate_limit": {"per_second": 20, "burst": 40},
    }, policy["caller"][0]
    assert len(policy["caller"]) == 3 and "rate_limit" not in policy["caller"][1], policy
    assert one(objs, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert "NO 2CHECKOUT ADMIN API CREDENTIALS" not in notes
    assert PER_REPLICA_WARNING not in notes and "Shared state: Redis" in notes, notes
    assert EMPTY_POLICY_WARNING not in notes and "Policy: 3 caller(s)" in notes, notes
    assert "cert-manager via ClusterIssuer/payments-internal-ca" in notes and "or a bearer token" in notes, notes
    assert "https://ins.payments.example.com/ins" in notes and NO_INS_TLS_WARNING not in notes, notes
    assert "idempotency records, the INS journal and cache coherence are shared" in notes, notes
    assert "any source may reach the INS port" not in notes, notes


def assert_credentials(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    secret = one(objs, "Secret")
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {
        "admin-api-username": "ci-api-user",
        "admin-api-password": "ci-not-a-real-password",
        "payment-api-seller-id": "901248156",
        "payment-api-private-key": "CI-NOT-A-REAL-PRIVATE-KEY",
        "redis-url": "rediss://:ci-not-a-real-redis-password@redis.payments.svc:6380/0",
        "ins-secret-word": "ci-not-a-real-ins-secret-word",
    }, decoded
    # The secret values appear in no other object (nor NOTES.txt), not even base64-encoded.
    for path, text in manifests.items():
        if path.endswith("secret.yaml"):
            continue
        for plain in ("ci-not-a-real-password", "CI-NOT-A-REAL-PRIVATE-KEY", "ci-not-a-real-redis-password",
                      "ci-not-a-real-ins-secret-word"):
            for form in (plain, base64.b64encode(plain.encode()).decode()):
                assert form not in text, f"a credential leaked into {path}"
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] in SECRET_ENV}
    assert set(refs) == SECRET_ENV and all(r["name"] == secret["metadata"]["name"] for r in refs.values()), refs
    assert all(r["key"] in secret["data"] for r in refs.values()), refs
    assert refs["TCO_REDIS__URL"]["key"] == "redis-url", refs
    assert refs["TCO_INS__SECRET_WORD"]["key"] == "ins-secret-word", refs
    # No ins.vendorId: the gateway takes the Payment API seller id, so the chart sets none.
    assert "TCO_INS__VENDOR_ID" not in env_config(objs)["data"]
    assert one(objs, "Deployment")["spec"]["replicas"] == 2, "two pods with Redis need no allowPerReplicaState"
    assert "NO 2CHECKOUT ADMIN API CREDENTIALS" not in manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert PER_REPLICA_WARNING not in manifests[f"{RELEASE}/templates/NOTES.txt"]


# --- Kubernetes schemas and checkov -------------------------------------------------------------


def validate_kubernetes(objs: list[tuple[str, dict[str, Any]]]) -> None:
    problems = []
    for path, o in objs:
        what = f"{o['kind']}/{o['metadata']['name']} ({path})"
        group = o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else ""
        if group in CRD_GROUPS:
            print(f"      skip  {what}: {o['apiVersion']} is a CRD, no Kubernetes schema to validate against")
            continue
        try:
            version = kubernetes_validate.validate(o, KUBE_VERSION, strict=True)
            print(f"      valid {what} against Kubernetes {version} (strict)")
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{what}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{what}: {exc.message}")
    assert not problems, "\n      ".join(problems)


def write_manifests(manifests: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True)
    for path, text in manifests.items():
        if path.endswith(".yaml") and text.strip():
            (directory / Path(path).name).write_text(text)


def run_checkov(directory: Path) -> None:
    command = [sys.executable, "-m", "checkov.main", "--directory", str(directory), "--framework", "kubernetes",
               "--output", "json", "--skip-download"]
    # Offline: --skip-download and BC_SKIP_MAPPING (no Prisma Cloud calls), no PyPI update check.
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"checkov exited {proc.returncode} without a JSON report:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    reports = report if isinstance(report, list) else [report]
    summary = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
    problems = []
    for r in reports:
        for key in summary:
            summary[key] += r["summary"][key]
        for c in r["results"].get("failed_checks", []):
            problems.append(f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})")
        for c in r["results"].get("skipped_checks", []):
            reason = (c.get("check_result") or {}).get("suppress_comment") or ""
            print(f"      skipped {c['check_id']} on {c['resource']}: {reason}")
            if len(reason) < 20:
                problems.append(f"{c['check_id']} skipped on {c['resource']} without a reason")
    print(f"      checkov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped, "
          f"{summary['parsing_errors']} parsing errors")
    assert summary["passed"] > 0, "checkov ran no check"
    assert summary["parsing_errors"] == 0, "checkov could not parse the manifests"
    assert not problems, "\n      ".join(problems)


# --- the real Helm binaries (helm3, helm4) --------------------------------------------------------


class HelmBinary:
    """One official `helm` binary (from .ci/install-helm.sh), run with a throwaway home and a
    kubeconfig whose API server address refuses connections, so that no command can reach a cluster."""

    def __init__(self, label: str, path: Path, major: int, work: Path, kubeconfig: Path) -> None:
        self.label, self.path, self.work = label, path, work
        home = work / f"{label}-home"
        # Helm keeps config, cache and data under $HOME by default: keep them out of the machine's.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        self.env.update(HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
                        HELM_DATA_HOME=str(home / "data"), KUBECONFIG=str(kubeconfig))
        proc = self.run(["version", "--template", "{{.Version}}"])
        assert proc.returncode == 0, f"{path} version failed: {proc.stderr}"
        self.version = proc.stdout.strip()
        if not self.version.startswith(f"v{major}."):
            raise SystemExit(f"--{label} {path} is Helm {self.version}, not Helm v{major}")

    def run(self, args: list[str], values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
        if values is not None:
            # A file per call: -f is how users pass values; null stays null (Helm then drops the key).
            with tempfile.NamedTemporaryFile("w", dir=self.work, suffix=".yaml", delete=False) as values_file:
                yaml.safe_dump(values, values_file)
            args = [*args, "--values", values_file.name]
        if self.label == "helm3" and args[0] == "install":
            # Helm v3 would download the server's OpenAPI document to validate the objects; the
            # discovery stub has none (the objects are validated by kubernetes-validate instead).
            args = [*args, "--disable-openapi-validation"]
        return subprocess.run([str(self.path), *args], capture_output=True, text=True, env=self.env, timeout=120)


HELMS: dict[str, HelmBinary] = {}

# What the discovery stub below serves: the API groups of every kind the chart renders (the two CRD
# kinds included, as on a cluster with cert-manager and the Prometheus operator), at KUBE_VERSION.
DISCOVERY_GROUPS: dict[str, list[tuple[str, str]]] = {
    "v1": [("configmaps", "ConfigMap"), ("secrets", "Secret"), ("services", "Service"),
           ("serviceaccounts", "ServiceAccount")],
    "apps/v1": [("deployments", "Deployment")],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler")],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget")],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy"), ("ingresses", "Ingress")],
    "cert-manager.io/v1": [("certificates", "Certificate")],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor")],
}


class EmptyClusterReads:
    """An HTTP endpoint answering only reads, as an empty cluster would, for Helm v3.18's
    `install --dry-run=client`, which insists on a reachable cluster before rendering client-side
    (helm/helm#13144): discovery (GET /version, /api, /apis and each group version's resource list),
    an empty list for any list (Helm looks for earlier releases) and 404 NotFound for any named object
    (Helm looks for objects it would conflict with). It is not an API server: it validates nothing
    and stores nothing; any other request (a write, a path outside the API) is answered 403 and
    recorded, so a check can prove a client dry run only read."""

    def __init__(self) -> None:
        outer = self
        self.unexpected: list[str] = []
        major, minor, _ = KUBE_VERSION.split(".")
        documents: dict[str, Any] = {
            "/version": {"major": major, "minor": minor, "gitVersion": f"v{KUBE_VERSION}", "platform": "linux/amd64"},
            "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                 "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}}
                for gv in DISCOVERY_GROUPS if "/" in gv]},
        }
        for gv, resources in DISCOVERY_GROUPS.items():
            documents["/api/v1" if gv == "v1" else f"/apis/{gv}"] = {
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": [{"name": name, "singularName": "", "namespaced": True, "kind": kind,
                               "verbs": ["get", "list"]} for name, kind in resources]}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                status, document = 200, documents.get(path)
                if document is None:
                    status, document = empty_cluster_read(path)
                if document is None:
                    self.refuse()
                    return
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def refuse(self) -> None:
                outer.unexpected.append(f"{self.command} {self.path}")
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_PATCH = do_DELETE = refuse  # noqa: N815

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def empty_cluster_read(path: str) -> tuple[int, Any]:
    """(status, body) of a read of namespaced objects in an empty cluster; (0, None) for anything
    else. /api/v1/namespaces/NS/RESOURCE[/NAME], /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME]."""
    parts = path.strip("/").split("/")
    prefix = 2 if parts[:1] == ["api"] else 3 if parts[:1] == ["apis"] else 0
    rest = parts[prefix:] if prefix else []
    if len(rest) == 3 and rest[0] == "namespaces":
        return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}
    if len(rest) == 4 and rest[0] == "namespaces":
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                     "message": f'{rest[2]} "{rest[3]}" not found', "details": {"name": rest[3], "kind": rest[2]}}
    return 0, None


def reads_only(cluster: EmptyClusterReads) -> None:
    assert not cluster.unexpected, f"requests beyond reads: {cluster.unexpected}"


def kubeconfig(work: Path, name: str, server: str) -> Path:
    """A kubeconfig whose only cluster is `server`."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": server}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none", "namespace": NAMESPACE}}],
        "users": [{"name": "none", "user": {}}],
    }
    path = work / name
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)  # Helm warns about a group- or world-readable kubeconfig
    return path


def refusing_kubeconfig(work: Path) -> tuple[Path, Any]:
    """A kubeconfig naming 127.0.0.1:PORT, PORT bound here and never listened on: a connection
    attempt is refused at once (no cluster exists here, and none is ever contacted). The socket is
    returned so the caller holds the port for the whole run."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    return kubeconfig(work, "kubeconfig", f"https://127.0.0.1:{held.getsockname()[1]}"), held


def split_helm_output(text: str) -> dict[str, str]:
    """`helm template` / a release manifest -> {template path: its documents}, the shape
    Chart.render returns (Helm prints each document under `# Source: PATH`)."""
    parts = re.split(r"^---\s*\n# Source: (.+)\n", text, flags=re.MULTILINE)
    out: dict[str, str] = {}
    for path, body in zip(parts[1::2], parts[2::2]):
        out[path] = out[path] + "\n---\n" + body if path in out else body
    return out


def normalised(manifests: dict[str, str]) -> dict[str, list[str]]:
    """{template path: its objects as canonical JSON, sorted}: comments, key order, quoting and
    document order no longer matter; templates that render nothing are dropped."""
    out = {}
    for path, objs in itertools.groupby(objects_of(manifests), key=lambda po: po[0]):
        out[path] = sorted(json.dumps(o, sort_keys=True) for _, o in objs)
    return out


def redacted(obj_json: str) -> str:
    """A rendered object for a diff, Secret values replaced by their length: no secret is printed."""
    obj = json.loads(obj_json)
    if obj.get("kind") == "Secret":
        for field in ("data", "stringData"):
            obj[field] = {k: f"<{len(v)} chars>" for k, v in (obj.get(field) or {}).items()}
    return yaml.safe_dump(obj, sort_keys=True)


def assert_same_render(left_name: str, left: dict[str, str], right_name: str, right: dict[str, str]) -> None:
    a, b = normalised(left), normalised(right)
    problems = [f"{p}: only in {left_name}" for p in sorted(set(a) - set(b))]
    problems += [f"{p}: only in {right_name}" for p in sorted(set(b) - set(a))]
    for path in sorted(set(a) & set(b)):
        if a[path] != b[path]:
            diff = difflib.unified_diff("".join(map(redacted, a[path])).splitlines(),
                                        "".join(map(redacted, b[path])).splitlines(), left_name, right_name, lineterm="")
            problems.append(f"{path} differs:\n        " + "\n        ".join(list(diff)[:40]))
    assert not problems, f"{left_name} and {right_name} render differently:\n      " + "\n      ".join(problems)
    print(f"      same objects: {left_name} and {right_name} ({sum(map(len, a.values()))} objects in {len(a)} templates)")


def helm_args(command: str, chart: Path = CHART) -> list[str]:
    """The CLI form of what the SDK calls do: same release name, namespace and Kubernetes version."""
    if command == "lint":
        return ["lint", str(chart), "--strict", "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    if command == "template":
        return ["template", RELEASE, str(chart), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    if command == "install":
        # Helm v4 kept --dry-run=client (client-side only; a bare `--dry-run` still means client there but
        # is deprecated with a warning). No --kube-version flag on install: it uses the client's built-in one.
        return ["install", RELEASE, str(chart), "--namespace", NAMESPACE, "--dry-run=client", "--output", "json"]
    raise ValueError(command)


def real_lint(h: HelmBinary, values: dict[str, Any] | None) -> None:
    proc = h.run(helm_args("lint"), values)
    findings = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    for line in findings:
        print(f"      {h.label} lint {line}")
    bad = [line for line in findings if not line.startswith("[INFO]")]
    assert proc.returncode == 0 and not bad, f"{h.label} lint --strict exited {proc.returncode}: {bad or proc.stderr.strip()}"


def real_template(h: HelmBinary, values: dict[str, Any] | None, chart: Path = CHART) -> dict[str, str]:
    proc = h.run(helm_args("template", chart), values)
    assert proc.returncode == 0, f"{h.label} template exited {proc.returncode}: {proc.stderr.strip()}"
    manifests = split_helm_output(proc.stdout)
    assert manifests, f"{h.label} template printed no manifest"
    return manifests


def real_install_dry_run(h: HelmBinary, values: dict[str, Any] | None) -> tuple[dict[str, str], str]:
    """(manifests, NOTES) of `helm install --dry-run=client`: the release Helm would create."""
    proc = h.run(helm_args("install"), values)
    assert proc.returncode == 0, f"{h.label} install --dry-run=client exited {proc.returncode}: {proc.stderr.strip()}"
    release = json.loads(proc.stdout)
    assert release["info"]["status"] == "pending-install", release["info"]["status"]
    assert release["name"] == RELEASE and release["namespace"] == NAMESPACE, (release["name"], release["namespace"])
    return split_helm_output(release["manifest"]), release["info"].get("notes", "")


def real_helm_scenario(label: str, values: dict[str, Any] | None, sdk: dict[str, str] | None) -> None:
    """lint --strict, template and install --dry-run=client with both binaries; the renders compared
    with each other and with the SDK's (sdk: its render, None when it failed)."""
    renders: dict[str, dict[str, str]] = {}
    for h in HELMS.values():
        check(f"[{label}] {h.label} lint --strict (kube {KUBE_VERSION})", lambda h=h: real_lint(h, values))
        renders[h.label] = check(f"[{label}] {h.label} template", lambda h=h: real_template(h, values))
    if sdk is not None and renders["helm4"] is not None:
        check(f"[{label}] helm4 template renders what helm-python-sdk renders",
              lambda: assert_same_render("helm-python-sdk", sdk, "helm4", renders["helm4"]))
    if renders["helm3"] is not None and renders["helm4"] is not None:
        check(f"[{label}] helm3 template renders what helm4 renders",
              lambda: assert_same_render("helm3", renders["helm3"], "helm4", renders["helm4"]))
    for h in HELMS.values():
        def install(h: HelmBinary = h) -> None:
            manifests, notes = real_install_dry_run(h, values)
            if renders[h.label] is not None:
                assert_same_render(f"{h.label} install", manifests, f"{h.label} template", renders[h.label])
            if sdk is not None:
                sdk_notes = sdk[f"{RELEASE}/templates/NOTES.txt"]
                assert notes.strip() == sdk_notes.strip(), f"NOTES differ from the SDK's:\n{notes}\n---\n{sdk_notes}"
                print(f"      same NOTES as helm-python-sdk ({len(notes.splitlines())} lines)")

        check(f"[{label}] {h.label} install --dry-run=client (the release manifest and NOTES)", install)


def real_helm_refuses(values: dict[str, Any], needles: list[str], commands: tuple[str, ...]) -> None:
    """The binaries refuse the values in each command, saying why (every needle in the output).
    """
    for h in HELMS.values():
        for command in commands:
            proc = h.run(helm_args(command), values)
            output = proc.stdout + proc.stderr
            assert proc.returncode != 0, f"{h.label} {command} accepted it"
            missing = [n for n in needles if n not in output]
            assert not missing, f"{h.label} {command} refused it, but without {missing}: {output.strip()[-600:]}"
            reason = next((line.strip() for line in output.splitlines() if needles[-1] in line), "")
            print(f"      {h.label} {command} refused: {reason[:160]}")


def real_helm_renders_alike(values: dict[str, Any]) -> None:
    """Other value sets: the SDK, helm3 and helm4 render the same objects."""
    sdk = render(values)
    helm4 = real_template(HELMS["helm4"], values)
    assert_same_render("helm-python-sdk", sdk, "helm4", helm4)
    assert_same_render("helm3", real_template(HELMS["helm3"], values), "helm4", helm4)


# Chart changes that the library alone (helm-python-sdk, Helm v4.2) lets through and only the real
# binaries catch, each made in a copy of the chart: (what, file, [(old text, new text)], proof).
def broken_copy(tmp: Path, name: str, file: str, edits: list[tuple[str, str]]) -> Path:
    copy = tmp / name
    shutil.copytree(CHART, copy)
    text = (copy / file).read_text()
    for old, new in edits:
        assert old in text, f"{file} no longer contains {old!r}: update the breakage"
        text = text.replace(old, new, 1)
    (copy / file).write_text(text)
    return copy


def sdk_render(chart: Path, values: dict[str, Any] | None = None) -> dict[str, str]:
    with helm.Chart.load(chart) as loaded:
        return loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def v4_only_function(chart: Path) -> None:
    sdk_render(chart)  # the library accepts it
    for command in ("template", "lint"):
        proc = HELMS["helm3"].run(helm_args(command, chart))
        assert proc.returncode != 0 and 'function "mustToYaml" not defined' in proc.stdout + proc.stderr, \
            f"helm3 {command} did not refuse a Helm v4-only function: {proc.returncode}"
        print(f"      helm3 {command} refused it: function \"mustToYaml\" not defined")


def schema_keyword_helm3_ignores(chart: Path) -> None:
    try:
        sdk_render(chart, {"replicas": 3})
    except helm.HelmValuesError:
        print("      helm-python-sdk refuses the misspelt key (draft 2020-12 understood)")
    else:
        raise AssertionError("the library accepted the misspelt key: the breakage no longer shows the gap")
    proc = HELMS["helm3"].run(helm_args("template", chart), {"replicas": 3})
    assert proc.returncode == 0, "helm3 now refuses it too: the breakage no longer shows the gap"
    print("      helm3 template accepts it: users of Helm v3 would lose the check, which only real_helm_refuses sees")


def helm_version_in_a_template(chart: Path) -> None:
    helm4 = real_template(HELMS["helm4"], None, chart)
    for left_name, left in (("helm-python-sdk", sdk_render(chart)), ("helm3", real_template(HELMS["helm3"], None, chart))):
        try:
            assert_same_render(left_name, left, "helm4", helm4)
        except AssertionError as exc:
            print(f"      {left_name} vs helm4: {str(exc).splitlines()[0]}")
        else:
            raise AssertionError(f"{left_name} and helm4 rendered the same although the template prints Helm's version")


BREAKAGES = [
    ("a Helm v4-only template function (mustToYaml): helm3 lint and template refuse it",
     "templates/deployment.yaml", [("toYaml .Values.resources", "mustToYaml .Values.resources")], v4_only_function),
    ("values.schema.json as draft 2020-12 with unevaluatedProperties: helm3 ignores the keyword",
     "values.schema.json", [("http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema"),
                            ('"additionalProperties": false,', '"unevaluatedProperties": false,')],  # the first: the root's
     schema_keyword_helm3_ignores),
    ("a template printing .Capabilities.HelmVersion: the render comparisons fail",
     "templates/configmap.yaml",
     [('  TCO_UPSTREAM__MODE: "twocheckout"\n',
       '  TCO_UPSTREAM__MODE: "twocheckout"\n  HELM_VERSION: {{ .Capabilities.HelmVersion.Version | quote }}\n')],
     helm_version_in_a_template),
]


def readme_complete() -> None:
    """Every value in values.yaml has a row in the README (a map documented whole counts for its
    keys), and every checkov skip in the templates is listed there."""
    readme = (CHART / "README.md").read_text()
    missing: list[str] = []

    def walk(prefix: str, node: Any) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if f"| `{path}` |" in readme:
                continue
            if isinstance(value, dict) and value:
                walk(path + ".", value)
            else:
                missing.append(path)

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    walk("", values)
    assert not missing, f"values missing from helm/tco-gateway/README.md: {missing}"
    # The default column is the values.yaml default.
    wrong = []
    for path, default in re.findall(r"^\| `([A-Za-z0-9_.]+)` \| `(.*?)` \|", readme, re.MULTILINE):
        node: Any = values
        for key in path.split("."):
            node = node[key]
        if json.loads(default.replace("\\|", "|")) != node:
            wrong.append(f"{path}: README says {default}, values.yaml has {json.dumps(node)}")
    assert not wrong, "stale defaults in helm/tco-gateway/README.md:\n      " + "\n      ".join(wrong)

    skips = set()
    for template in (CHART / "templates").glob("*.yaml"):
        skips |= set(re.findall(r'"checkov\.io/skip\d+" "(CKV2?_K8S_\d+)=', template.read_text()))
    assert skips, "no checkov skip found in the templates (the pattern is stale)"
    unlisted = sorted(k for k in skips if f"`{k}`" not in readme)
    assert not unlisted, f"checkov skips not listed in the chart README: {unlisted}"


# --- the scenarios ------------------------------------------------------------------------------

SCENARIOS = [
    ("defaults", None, assert_defaults),
    ("all features (ci/all-features-values.yaml)", "all-features-values.yaml", assert_all_features),
    ("credentials as values (ci/credentials-values.yaml)", "credentials-values.yaml", assert_credentials),
]

# Values the schema must refuse: (what, values, text the error must contain).
SCHEMA_REJECTS = [
    ("replicaCount: -1", {"replicaCount": -1}, "replicaCount"),
    ("unknown log format", {"config": {"log": {"format": "yaml"}}}, "format"),
    ("non-integer port (string)", {"containerPort": "50051"}, "containerPort"),
    ("non-integer port (fraction)", {"service": {"port": 50051.5}}, "port"),
    ("port out of range", {"metrics": {"port": 70000}}, "port"),
    ("an OTLP protocol the gateway does not speak", {"otel": {"exporterOtlpProtocol": "http/protobuf"}}, "exporterOtlpProtocol"),
    ("unknown wire format", {"config": {"adminApi": {"wireFormat": "soap"}}}, "wireFormat"),
    ("duration without a unit", {"config": {"cache": {"ttl": "30"}}}, "ttl"),
    ("negative drain period", {"shutdown": {"drainPeriodSeconds": -5}}, "drainPeriodSeconds"),
    ("unknown pull policy", {"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    ("malformed digest", {"image": {"digest": "latest"}}, "digest"),
    ("a misspelt top-level key", {"replicas": 3}, "replicas"),
    ("a credential in config.extraEnv", {"config": {"extraEnv": {"TCO_ADMIN_API__PASSWORD": "x"}}}, "TCO_ADMIN_API__PASSWORD"),
    ("the upstream mode overridden in config.extraEnv", {"config": {"extraEnv": {"TCO_UPSTREAM__MODE": "simulator"}}},
     "TCO_UPSTREAM__MODE"),
    ("runAsNonRoot switched off", {"securityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
    ("the Redis URL in config.extraEnv", {"config": {"extraEnv": {"TCO_REDIS__URL": "redis://r:6379"}}}, "TCO_REDIS__URL"),
    ("replicaCount > 1 without Redis", {"replicaCount": 2}, "replicaCount"),
    ("autoscaling without Redis", {"autoscaling": {"enabled": True}}, "autoscaling"),
    ("redis.url together with redis.existingSecret.name",
     {"redis": {"url": "redis://redis:6379", "existingSecret": {"name": "redis"}}}, "existingSecret"),
    ("a Redis URL that is not redis:// or rediss://", {"redis": {"url": "http://redis:6379"}}, "url"),
    ("the TLS wiring overridden in config.extraEnv", {"config": {"extraEnv": {"TCO_SERVER__TLS__CERT_FILE": "/tmp/x"}}},
     "TCO_SERVER__TLS__CERT_FILE"),
    ("the policy file overridden in config.extraEnv", {"config": {"extraEnv": {"TCO_AUTH__POLICY_FILE": "/tmp/p"}}},
     "TCO_AUTH__POLICY_FILE"),
    ("a refund ceiling as a float", {"auth": {"policy": {"callers": [
        {"identity": "x", "methods": ["twocheckout.v1.SalesService/GetSale"], "maxRefund": {"amount": 100.5, "currency": "USD"}}]}}},
     "amount"),
    ("a caller without methods", {"auth": {"policy": {"callers": [{"identity": "x", "methods": []}]}}}, "methods"),
    ("a method that is not package.Service/Method", {"auth": {"policy": {"callers": [{"identity": "x", "methods": ["GetSale"]}]}}},
     "methods"),
    ("an unknown client CA source", {"tls": {"clientCa": {"source": "vault"}}}, "source"),
    ("INS port 0", {"ins": {"port": 0}}, "port"),
    ("INS port out of range", {"ins": {"enabled": True, "secretWord": "w", "vendorId": "1", "port": 65536}}, "port"),
    ("INS port as a string", {"ins": {"port": "8082"}}, "port"),
    ("INS Service port out of range", {"ins": {"service": {"port": 70000}}}, "port"),
    ("an unknown INS Service type", {"ins": {"service": {"type": "ExternalName"}}}, "type"),
    ("INS retention without a unit", {"ins": {"retention": "7"}}, "retention"),
    ("INS body limit below 1 KiB", {"ins": {"maxBodyBytes": 100}}, "maxBodyBytes"),
    ("a vendor id that is not a number", {"ins": {"vendorId": "acme"}}, "vendorId"),
    ("an INS Ingress host with a path", {"ins": {"ingress": {"hosts": ["ins.example.com/ins"]}}}, "hosts"),
    ("ins.secretWord together with ins.existingSecret.name",
     {"ins": {"secretWord": "w", "existingSecret": {"name": "s"}}}, "existingSecret"),
    ("the INS secret word in config.extraEnv", {"config": {"extraEnv": {"TCO_INS__SECRET_WORD": "x"}}}, "TCO_INS__SECRET_WORD"),
    ("an unknown key under ins", {"ins": {"secret": "x"}}, "secret"),
]

# Several pods: accepted with Redis (no warning) or with allowPerReplicaState (NOTES.txt warns).
def several_pods(values: dict[str, Any], warned: bool) -> None:
    manifests = render(values)
    objs = objects_of(manifests)
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert (PER_REPLICA_WARNING in notes) == warned, notes
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    redis = [e for e in container["env"] if e["name"] == "TCO_REDIS__URL"]
    assert bool(redis) != warned, container["env"]
    assert "TCO_REDIS__URL" not in env_config(objs)["data"]


SEVERAL_PODS = [
    ("replicaCount 3 with allowPerReplicaState: true (warned)", {"replicaCount": 3, "allowPerReplicaState": True}, True),
    ("autoscaling with allowPerReplicaState: true (warned)",
     {"autoscaling": {"enabled": True}, "allowPerReplicaState": True}, True),
    ("replicaCount 3 with redis.url", {"replicaCount": 3, "redis": {"url": "redis://redis:6379"}}, False),
    ("autoscaling with redis.existingSecret", {"autoscaling": {"enabled": True}, "redis": {"existingSecret": {"name": "r"}}},
     False),
]

# Values that pass the schema but that the templates refuse with a message.
TEMPLATE_REJECTS = [
    ("username without password", {"credentials": {"adminApi": {"username": "u"}}}, "set both username and password"),
    ("seller id without private key", {"credentials": {"paymentApi": {"sellerId": "1"}}}, "set both sellerId and privateKey"),
    ("existingSecret together with credential values",
     {"credentials": {"existingSecret": {"name": "s"}, "adminApi": {"username": "u", "password": "p"}}},
     "use one or the other"),
    ("ServiceMonitor without metrics", {"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}},
     "needs metrics.enabled"),
    ("PDB with neither minAvailable nor maxUnavailable",
     {"podDisruptionBudget": {"enabled": True, "minAvailable": "", "maxUnavailable": ""}}, "set minAvailable or maxUnavailable"),
    ("HPA with minReplicas above maxReplicas",
     {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}, "redis": {"url": "redis://redis:6379"}},
     "minReplicas"),
    ("TLS disabled without insecure: true", {"tls": {"enabled": False}}, "tls.enabled is false but insecure is not true"),
    ("a cert-manager Certificate without issuerRef.name", {"tls": {"certManager": {"enabled": True}}},
     "set tls.certManager.issuerRef.name"),
    ("a cert-manager Certificate with TLS off", {"tls": {"enabled": False, "certManager": {"enabled": True,
     "issuerRef": {"name": "ca"}}}, "insecure": True}, "tls.certManager.enabled needs tls.enabled"),
    ("a client CA Secret without a name", {"tls": {"clientCa": {"source": "secret"}}}, "set tls.clientCa.name"),
    ("policy callers together with auth.policy.existingConfigMap",
     {"auth": {"policy": {"callers": [{"identity": "x", "methods": ["twocheckout.v1.SalesService/*"]}],
                          "existingConfigMap": {"name": "p"}}}}, "auth.policy: callers and existingConfigMap.name"),
    ("a JWKS Secret and ConfigMap both", {"auth": {"issuer": "https://i", "jwks": {"existingSecret": {"name": "a"},
     "existingConfigMap": {"name": "b"}}}}, "use one or the other"),
    ("a JWKS without auth.issuer", {"auth": {"jwks": {"existingSecret": {"name": "a"}}}}, "set auth.issuer"),
    ("health.port equal to containerPort", {"health": {"port": 50051}}, "health.port must differ"),
    ("TLS with podSecurityContext.fsGroup unset (the 0440 key would be unreadable)", {"podSecurityContext": {"fsGroup": None}},
     "podSecurityContext.fsGroup is unset"),
    ("INS on without a secret word", {"ins": {"enabled": True, "vendorId": "1"}}, "set ins.secretWord or ins.existingSecret.name"),
    ("INS on without a vendor id or a Payment API seller id", {"ins": {"enabled": True, "secretWord": "w"}}, "set ins.vendorId"),
    ("the INS Ingress with INS off", {"ins": {"ingress": {"enabled": True}}}, "ins.ingress.enabled needs ins.enabled"),
    ("ins.port equal to the gRPC port", {"ins": {"enabled": True, "secretWord": "w", "vendorId": "1", "port": 50051}},
     "ins.port must differ"),
    ("ins.port equal to metrics.port", {"ins": {"enabled": True, "secretWord": "w", "vendorId": "1", "port": 9464}},
     "ins.port must differ"),
]


# Other renders that must hold: (what, values, check of (manifests, objects)).
def plaintext_insecure(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    cm = env_config(objs)["data"]
    assert cm["TCO_SERVER__INSECURE"] == "true" and "TCO_SERVER__TLS__CERT_FILE" not in cm, cm
    volumes, _ = volumes_of(objs)
    assert set(volumes) == {"policy"}, volumes
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert PLAINTEXT_WARNING in notes and "grpcurl -plaintext localhost:50051 list" in notes, notes
    container = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["grpc"]["port"] == 8081, "the probes use the health port with TLS off too"


def network_policy_off(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    assert not by_kind(objs, "NetworkPolicy")
    annotations = one(objs, "Deployment")["metadata"]["annotations"]
    assert any(a.startswith("CKV2_K8S_6=") and len(a) > 40 for a in annotations.values()), \
        "switching the NetworkPolicy off must carry checkov's skip with its reason"


def existing_sources(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    assert [o["metadata"]["name"] for o in by_kind(objs, "ConfigMap")] == [RELEASE], "the chart rendered a policy of its own"
    volumes, _ = volumes_of(objs)
    assert volumes["policy"]["configMap"] == {"name": "gateway-policy", "defaultMode": 0o444,
                                              "items": [{"key": "policy.toml", "path": "policy.toml"}]}, volumes["policy"]
    assert volumes["jwks"]["secret"]["secretName"] == "oidc-jwks", volumes["jwks"]
    assert volumes["client-ca"]["secret"]["secretName"] == "callers-ca", volumes["client-ca"]
    assert volumes["tls"]["secret"]["secretName"] == "my-server-tls"
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert EMPTY_POLICY_WARNING not in notes and "Policy: ConfigMap gateway-policy" in notes, notes


def ins_plain_anywhere(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    ingress = one(objs, "Ingress")["spec"]
    assert [r.get("host") for r in ingress["rules"]] == [None] and "tls" not in ingress, ingress
    svc = next(o for o in by_kind(objs, "Service") if o["metadata"]["name"] == INS_SERVICE)["spec"]
    assert svc["type"] == "LoadBalancer" and [p["port"] for p in svc["ports"]] == [8082], svc
    assert grpc_service(objs)["spec"]["type"] == "ClusterIP", "the INS Service type leaked into the gRPC Service"
    rule = next(r for r in one(objs, "NetworkPolicy")["spec"]["ingress"] if r["ports"][0]["port"] == "ins")
    assert "from" not in rule, f"no ins.networkPolicy.from must allow any source: {rule}"
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert NO_INS_TLS_WARNING in notes and "http://<the Ingress's address>/ins" in notes, notes
    assert "any source may reach the INS port" in notes and "secret word from Secret tco-gateway, key ins-secret-word" in notes
    assert "curl -si -d message_type=ORDER_CREATED -d md5_hash=0 localhost:8082/ins" in notes, notes


def ins_without_network_policy(manifests: dict[str, str], objs: list[tuple[str, dict[str, Any]]]) -> None:
    assert not by_kind(objs, "NetworkPolicy") and not by_kind(objs, "Ingress")
    assert sorted(o["metadata"]["name"] for o in by_kind(objs, "Service")) == [RELEASE, INS_SERVICE]
    word = next(e for e in one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
                if e["name"] == "TCO_INS__SECRET_WORD")
    assert word["valueFrom"]["secretKeyRef"] == {"name": "my-ins", "key": "ins-secret-word"}, word
    assert not by_kind(objs, "Secret"), "a Secret was created although ins.existingSecret is set"
    notes = manifests[f"{RELEASE}/templates/NOTES.txt"]
    assert "2Checkout cannot reach it yet" in notes and "any source may reach" not in notes, notes


OTHER_RENDERS = [
    ("TLS off with insecure: true (NOTES.txt warns; probes still on the health port)",
     {"tls": {"enabled": False}, "insecure": True}, plaintext_insecure),
    ("NetworkPolicy switched off (checkov's skip carries its reason)", {"networkPolicy": {"enabled": False}}, network_policy_off),
    ("policy, JWKS, client CA and server certificate all from existing objects",
     {"tls": {"secretName": "my-server-tls", "clientCa": {"source": "secret", "name": "callers-ca"}},
      "auth": {"policy": {"existingConfigMap": {"name": "gateway-policy"}}, "jwks": {"existingSecret": {"name": "oidc-jwks"}},
               "issuer": "https://issuer.example"}},
     existing_sources),
    ("INS on behind a plaintext Ingress for any host, a LoadBalancer INS Service, any source (NOTES.txt warns)",
     {"ins": {"enabled": True, "secretWord": "ci-not-a-real-ins-secret-word", "vendorId": 901248156,
              "service": {"type": "LoadBalancer"}, "ingress": {"enabled": True}}},
     ins_plain_anywhere),
    ("INS on with an existing Secret, no Ingress, NetworkPolicy off",
     {"ins": {"enabled": True, "existingSecret": {"name": "my-ins"}, "vendorId": "1"}, "networkPolicy": {"enabled": False}},
     ins_without_network_policy),
]


def other_render(values: dict[str, Any], specific: Callable[..., None]) -> None:
    manifests = render(values)
    objs = objects_of(manifests)
    assert_common(objs, values)
    specific(manifests, objs)
    validate_kubernetes(objs)


def expect_schema_rejection(values: dict[str, Any], needle: str) -> None:
    try:
        render(values)
    except helm.HelmValuesError as exc:
        message = str(exc)
        assert "schema" in message and needle in message, f"rejected, but not by the schema naming {needle!r}: {message}"
        print("      render refused: " + " / ".join(line.strip() for line in message.splitlines()[-2:]))
    else:
        raise AssertionError("Chart.render accepted it")
    report = lint(values)
    assert any("schema" in e and needle in e for e in report["errors"]), f"helm lint did not refuse it: {report}"


def expect_template_rejection(values: dict[str, Any], needle: str) -> None:
    try:
        render(values)
    except helm.HelmError as exc:
        assert needle in str(exc), f"refused for another reason: {exc}"
        print(f"      render refused: {str(exc).strip().splitlines()[-1]}")
    else:
        raise AssertionError("Chart.render accepted it")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--helm3", type=Path, default=os.environ.get("HELM3"),
                        help="the Helm v3 binary (default: $HELM3), e.g. DIR/helm3 from .ci/install-helm.sh DIR")
    parser.add_argument("--helm4", type=Path, default=os.environ.get("HELM4"),
                        help="the Helm v4 binary (default: $HELM4), e.g. DIR/helm4 from .ci/install-helm.sh DIR")
    args = parser.parse_args()
    missing = [f"--{name}" for name in ("helm3", "helm4") if getattr(args, name) is None]
    if missing:
        # No silent fallback to the SDK alone: CI always passes both, and so should a local run.
        parser.error(f"{' and '.join(missing)} missing (or $HELM3 / $HELM4): install both with "
                     f"`.ci/install-helm.sh DIR`, then pass --helm3 DIR/helm3 --helm4 DIR/helm4")
    for name in ("helm3", "helm4"):
        path = getattr(args, name).resolve()
        if not (path.is_file() and os.access(path, os.X_OK)):
            parser.error(f"--{name} {path} is not an executable file")
        setattr(args, name, path)
    return args


def main() -> int:
    args = parse_args()
    # Line-buffered, so progress interleaves correctly with the Go engine's own log lines on stderr.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="helm-checks-") as tmp:
        refusing, held_port = refusing_kubeconfig(Path(tmp))
        empty_cluster = EmptyClusterReads()
        try:
            # Helm v4 renders a client dry run without any cluster; Helm v3.18 wants one to read first.
            HELMS["helm3"] = HelmBinary("helm3", args.helm3, 3, Path(tmp),
                                        kubeconfig(Path(tmp), "empty-cluster-kubeconfig", empty_cluster.url))
            HELMS["helm4"] = HelmBinary("helm4", args.helm4, 4, Path(tmp), refusing)
            run_all(Path(tmp))
            check("helm3's client dry runs only read (discovery, empty lists, objects not found): nothing written",
                  lambda: reads_only(empty_cluster))
        finally:
            empty_cluster.close()
            held_port.close()

    print()
    if failed:
        print("failed checks:")
        for name in failed:
            print(f"  - {name}")
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


def run_all(tmp: Path) -> None:
    print(f"== helm chart checks: {CHART.relative_to(ROOT)}")
    print(f"   helm-python-sdk {helm.__version__} (libhelm_c {helm.helm_c_version()}, Helm SDK {helm.helm_sdk_version()}), "
          f"kubernetes-validate {kubernetes_validate.__version__} (Kubernetes {KUBE_VERSION})")
    print("   real Helm: " + ", ".join(f"{h.label} {h.version} ({h.path})" for h in HELMS.values()))

    def chart_metadata() -> None:
        with helm.Chart.load(CHART) as chart:
            md = chart.metadata
            assert md["apiVersion"] == "v2" and md["appVersion"] == "0.1.0", md
            assert chart.schema is not None, "values.schema.json not loaded"
            chart.validate_schema(chart.values)

    check("Chart.yaml is apiVersion v2 with appVersion 0.1.0; values.yaml meets values.schema.json", chart_metadata)
    check("chart README lists every value and every checkov skip", readme_complete)

    for index, (label, values_file, specific) in enumerate(SCENARIOS):
        values = load_values(values_file)
        print(f"\n== scenario: {label}")

        def do_lint(values: dict[str, Any] | None = values) -> None:
            report = lint(values)
            for m in report["messages"]:
                print(f"      lint [{['unknown', 'info', 'warning', 'error'][m['severity']]}] {m['path']}: {m['error'].strip()}")
            bad = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
            assert not bad, f"helm lint --strict: {bad}"

        check(f"[{label}] helm lint --strict (kube {KUBE_VERSION})", do_lint)
        manifests = check(f"[{label}] helm template (Chart.render)", lambda values=values: render(values))
        # The real binaries, whatever the SDK did: their failures are reported on their own.
        real_helm_scenario(label, values, manifests)
        if manifests is None:
            continue
        objs = objects_of(manifests)
        print("      rendered: " + ", ".join(f"{o['kind']}/{o['metadata']['name']}" for _, o in objs))
        check(f"[{label}] chart invariants (security context, probes, grace period, secrets)",
              lambda objs=objs, values=values: assert_common(objs, values))
        check(f"[{label}] scenario specifics", lambda m=manifests, objs=objs, f=specific: f(m, objs))
        check(f"[{label}] kubernetes-validate (Kubernetes {KUBE_VERSION}, strict)",
              lambda objs=objs: validate_kubernetes(objs))
        directory = tmp / f"scenario-{index}"
        write_manifests(manifests, directory)
        check(f"[{label}] checkov --framework kubernetes", lambda d=directory: run_checkov(d))

    print("\n== values.schema.json rejects bad values (Chart.render and helm lint must both fail; so must helm3 and "
          "helm4 template and lint --strict, and helm4 install --dry-run=client)")
    for what, values, needle in SCHEMA_REJECTS:
        check(f"schema rejects {what}", lambda v=values, n=needle: expect_schema_rejection(v, n))
        check(f"schema rejects {what} (helm3, helm4)",
              lambda v=values, n=needle: real_helm_refuses(v, ["schema", n], ("template", "lint", "install")))

    print("\n== several pods: with Redis, or explicitly without (NOTES.txt warns)")
    for what, values, warned in SEVERAL_PODS:
        check(f"renders {what}", lambda v=values, w=warned: several_pods(v, w))
        check(f"renders {what}: helm3 and helm4 render the same", lambda v=values: real_helm_renders_alike(v))

    print("\n== other renders: chart invariants, their specifics, kubernetes-validate")
    for what, values, specific in OTHER_RENDERS:
        check(f"renders {what}", lambda v=values, s=specific: other_render(v, s))
        check(f"renders {what}: helm3 and helm4 render the same", lambda v=values: real_helm_renders_alike(v))

    print("\n== the real-Helm checks can fail: chart copies broken in ways only the binaries catch")
    for index, (what, file, edits, proof) in enumerate(BREAKAGES):
        check(f"breakage caught: {what}", lambda i=index, f=file, e=edits, p=proof: p(broken_copy(tmp, f"broken-{i}", f, e)))

    print("\n== templates refuse inconsistent settings (Chart.render; helm3 and helm4 template, helm4 install --dry-run=client)")
    for what, values, needle in TEMPLATE_REJECTS:
        check(f"template refuses {what}", lambda v=values, n=needle: expect_template_rejection(v, n))
        # Not `helm lint`: it renders in lint mode, where `fail` only logs (Helm's design, the SDK's too).
        check(f"template refuses {what} (helm3, helm4)",
              lambda v=values, n=needle: real_helm_refuses(v, [n], ("template", "install")))


if __name__ == "__main__":
    sys.exit(main())
