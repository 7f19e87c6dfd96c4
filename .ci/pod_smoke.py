#!/usr/bin/env python3
"""Runs the chart's rendered pod as a kubelet would, with the docker CLI, for each values scenario.

Why: .ci/helm_checks.py reads the rendered YAML; nothing there proves the pod spec actually runs —
that the env (ConfigMap, Secrets, fieldRefs, $(VAR) expansion), the volumes, the security context
and the probes fit the image. No Kubernetes API server or kubelet can run here, so this script
does the kubelet's part itself and says what it does not emulate:

1. Render helm/tco-gateway (a helm binary with --helm PATH, else helm-python-sdk) with the
   scenario's values plus the overlays in .ci/pod-smoke/ that make it runnable here (free ports,
   the simulator as upstream, a local Redis, ...), each listed in the output with its reason.
2. Objects the chart only references (the TLS Secret cert-manager would write, the client CA and
   JWKS ConfigMaps, existing credential and Redis Secrets) are made here as test objects
   (scripts/demo-ca.sh, an Ed25519 JWKS from openssl, throwaway credentials and URLs).
3. The Deployment's one container becomes `docker run --network host`: env as the kubelet builds
   it, configMap/secret volumes in the kubelet's atomic-writer layout (..data symlink, items,
   defaultMode, fsGroup ownership) mounted read-only, the security context (--user, --group-add,
   --read-only, --cap-drop/--cap-add, no-new-privileges, runAsNonRoot refusal), resources.limits
   (--memory, --cpus), the image overridden with --image. Unknown pod or container fields fail;
   scheduling-only fields are printed as not emulated.
4. The probes as the kubelet's gRPC probe does them (grpc.health.v1.Health/Check, SERVING only):
   startup within period x failureThreshold, then liveness and readiness; the metrics port scraped
   for a tco_* metric and for target_info carrying the synthesized pod name (fieldRef + $(VAR)
   expansion reached the process); one GetSale over mTLS as the demo client support-tool (OK where
   the rendered policy lets it in, UNAUTHENTICATED where the policy is empty); with ins.enabled, a
   notification signed with the pod's secret word posted to the INS port must get a 2xx, one
   signed with another word a 4xx, another path a 404; then SIGTERM:
   readiness must answer NOT_SERVING while the process still runs, and the process must exit 0
   within terminationGracePeriodSeconds; no Secret value may appear in the container's log.

Not emulated, and said so in the output: the pod's own network namespace and hostname (host
network), replicas and the objects only controllers act on (Service, NetworkPolicy, HPA, PDB, ...),
scheduling fields, image pulls. No API server: nothing here is server-side validation.

Run as root from anywhere (DOCKER_HOST names the engine; redis-server and openssl on PATH):
  python .ci/pod_smoke.py --image tco-gateway:dev --simulator PATH [--helm PATH] [--scenario NAME]...
  python .ci/pod_smoke.py ... --prove-failures     # broken variants that must each fail, with their message
  python .ci/pod_smoke.py ... --values FILE | --omit-object KIND/NAME | --edit PATH=YAML   # break one by hand
Exits non-zero on any failure, with the container's last log lines (secrets redacted).
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import datetime
import decimal
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "tco-gateway"
OVERLAYS = Path(__file__).resolve().parent / "pod-smoke"
RELEASE = "tco-gateway"
NAMESPACE = "payments"
NODE_NAME = "pod-smoke-node"
CONTAINER_PREFIX = "pod-smoke-"


@dataclasses.dataclass(frozen=True)
class Scenario:
    values_file: str | None  # under helm/tco-gateway/ci/, None for the chart's defaults
    overlays: tuple[str, ...]  # under .ci/pod-smoke/, in order (later wins, as with helm -f)


COMMON_OVERLAYS = ("ports.yaml", "upstream.yaml")
SCENARIOS = {
    "defaults": Scenario(None, COMMON_OVERLAYS + ("credentials-secret.yaml",)),
    "all-features": Scenario("all-features-values.yaml", COMMON_OVERLAYS + ("otlp-local.yaml",)),
    "credentials": Scenario("credentials-values.yaml", COMMON_OVERLAYS + ("redis-url.yaml",)),
}

# Pod-spec fields the kubelet acts on that this script emulates (or that need nothing here).
POD_EMULATED = {
    "containers",
    "volumes",
    "securityContext",
    "terminationGracePeriodSeconds",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "serviceAccountName",
}
# Pod-spec fields that only matter to the scheduler, the API server or a registry: printed, not emulated.
POD_NOT_EMULATED = {
    "topologySpreadConstraints": "scheduling only",
    "affinity": "scheduling only",
    "nodeSelector": "scheduling only",
    "tolerations": "scheduling only",
    "priorityClassName": "scheduling and preemption only",
    "imagePullSecrets": "no registry here: the image is on the engine already (--pull never)",
    "restartPolicy": "one run: a restart would be a failure here anyway",
    "dnsPolicy": "host network: the engine's resolver",
    "schedulerName": "scheduling only",
}
CONTAINER_KNOWN = {
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "workingDir",
    "env",
    "envFrom",
    "ports",
    "resources",
    "securityContext",
    "volumeMounts",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
}
SECURITY_KNOWN = {
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "privileged",
    "capabilities",
    "seccompProfile",
    "fsGroup",
    "supplementalGroups",
    "fsGroupChangePolicy",
}
PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}


class Failed(Exception):
    """A check failed; the message says what a person needs to know (never a secret)."""


# --- small utilities ----------------------------------------------------------------------------------


def log(message: str = "") -> None:
    print(message, flush=True)


def free_port() -> int:
    """A port nothing listens on now (bound and released: the kernel does not hand it out again soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def substitute(text: str, variables: dict[str, str], source: str) -> str:
    """${NAME} placeholders of an overlay, each required: a typo must not silently render."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise Failed(f"{source}: unknown placeholder ${{{name}}}")
        return variables[name]

    return re.sub(r"\$\{([A-Z_]+)\}", one, text)


def merge_values(base: Any, overlay: Any) -> Any:
    """Helm's coalescing of -f files: maps merge key by key, anything else is replaced, null deletes."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_quantity(value: Any) -> decimal.Decimal:
    """A Kubernetes resource quantity (100m, 384Mi, 1.5, 1e3, 2G) as a number of base units."""
    text = str(value).strip()
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    decimal_suffixes = {
        "n": decimal.Decimal("1e-9"),
        "u": decimal.Decimal("1e-6"),
        "m": decimal.Decimal("1e-3"),
        "": 1,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "P": 10**15,
        "E": 10**18,
    }
    match = re.fullmatch(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)", text)
    if not match:
        raise Failed(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.groups()
    factor = binary.get(suffix) or decimal_suffixes[suffix]
    return decimal.Decimal(number) * decimal.Decimal(factor)


def expand(value: str, lookup: Callable[[str], str | None]) -> str:
    """Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): $(NAME) becomes the value
    of NAME when defined, else stays as written; $$ is a literal $; any other $ is kept."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "$" and i + 1 < len(value):
            nxt = value[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2 : end]
                    found = lookup(name)
                    out.append(found if found is not None else f"$({name})")
                    i = end + 1
                    continue
                out.append("$(")
                i += 2
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


# Cases of Kubernetes' own expansion tests (third_party/forked/golang/expansion/expand_test.go), checked
# at every start: the emulation must expand exactly as the kubelet does.
EXPANSION_CONTEXT = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}
EXPANSION_CASES = [
    ("$(VAR_A)", "A"),
    ("$(VAR_A)-$(VAR_A)", "A-A"),
    ("$(VAR_A)-1", "A-1"),
    ("___$(VAR_B)___", "___B___"),
    ("___$(VAR_C)", "___C"),
    ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
    ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
    ("$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"),
    ("f000-$$VAR_A", "f000-$VAR_A"),
    ("foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
    ("foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"),
    ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
    ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
    ("$(VAR_REF)", "$(VAR_A)"),
    ("%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"),
    ("foo$(VAR_EMPTY)bar", "foobar"),
    ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
    ("f00__(VAR_A)__", "f00__(VAR_A)__"),
    ("$?_boo_$!", "$?_boo_$!"),
    ("$VAR_A", "$VAR_A"),
    ("$(VAR_DNE)", "$(VAR_DNE)"),
    ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
    ("$$$$$$(VAR_A)", "$$$(VAR_A)"),
    ("$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"),
    ("$$$$$$$(VAR_A)", "$$$A"),
    ("$VAR_A)", "$VAR_A)"),
    ("${VAR_A}", "${VAR_A}"),
    ("$(VAR_B)_______$(A", "B_______$(A"),
    ("$(VAR_C)_______$(", "C_______$("),
    ("$(VAR_A)foobarzab$", "Afoobarzab$"),
    ("foo-\\$(VAR_A", "foo-\\$(VAR_A"),
    ("--$($($($($--", "--$($($($($--"),
    ("$($($($($--foo$(", "$($($($($--foo$("),
    ("foo0--$($($($(", "foo0--$($($($("),
    ("$(foo$$var)", "$(foo$$var)"),
    ("\n", "\n"),
]


def check_expansion() -> None:
    wrong = [
        (given, want, got) for given, want in EXPANSION_CASES if (got := expand(given, EXPANSION_CONTEXT.get)) != want
    ]
    if wrong:
        raise Failed(f"$(VAR) expansion differs from Kubernetes': {wrong}")
    # Only variables defined earlier (envFrom, then env above) are expanded; a later one stays literal.
    objects = Objects()
    objects.add("ConfigMap", "cm", {"FROM_CM": b"cm"}, "self-check")
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}}],
        "env": [
            {"name": "EARLY", "value": "$(FROM_CM)-$(LATE)"},
            {"name": "LATE", "value": "late"},
            {"name": "AFTER", "value": "$(LATE)-$(EARLY)"},
        ],
    }
    env, _ = build_env(container, objects, {"name": "p", "namespace": NAMESPACE, "uid": "u"}, {}, {})
    want = {"FROM_CM": "cm", "EARLY": "cm-$(LATE)", "LATE": "late", "AFTER": "late-cm-$(LATE)"}
    if env != want:
        raise Failed(f"env ordering differs from the kubelet's: {env} != {want}")


# --- rendering --------------------------------------------------------------------------------------


def render_objects(helm_binary: str | None, value_files: list[Path], workdir: Path) -> tuple[list[dict[str, Any]], str]:
    """The rendered Kubernetes objects, and which renderer made them."""
    if helm_binary:
        cmd = [helm_binary, "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for f in value_files:
            cmd += ["--values", str(f)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Failed(f"helm template failed:\n{proc.stderr.strip()}")
        version = subprocess.run([helm_binary, "version", "--short"], capture_output=True, text=True).stdout.strip()
        return [d for d in yaml.safe_load_all(proc.stdout) if d], f"helm {version} ({helm_binary})"
    import helm_python as helm  # only needed without a binary

    values: dict[str, Any] = {}
    for f in value_files:
        values = merge_values(values, yaml.safe_load(f.read_text()) or {})
    try:
        with helm.Chart.load(CHART) as chart:
            manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    except helm.HelmError as exc:
        raise Failed(f"rendering failed: {exc}") from None
    objs = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".yaml"):
            objs += [d for d in yaml.safe_load_all(text) if d]
    return objs, f"helm-python-sdk {helm.__version__} (Helm SDK {helm.helm_sdk_version()})"


# --- the cluster's objects: rendered ones and test objects ----------------------------------------------


class Objects:
    """Secrets and ConfigMaps by (kind, name), as the API server would hold them (stringData folded
    into data), with where each came from."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, bytes]] = {}
        self.origin: dict[tuple[str, str], str] = {}

    def add(self, kind: str, name: str, data: dict[str, bytes], origin: str) -> None:
        self.data[(kind, name)] = data
        self.origin[(kind, name)] = origin

    def add_rendered(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if obj["kind"] == "Secret":
            data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            data.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
        else:
            data = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
            data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        self.add(obj["kind"], name, data, "rendered by the chart")

    def get(self, kind: str, name: str, optional: bool, what: str) -> dict[str, bytes] | None:
        found = self.data.get((kind, name))
        if found is None and not optional:
            raise Failed(f"{what}: {kind} {NAMESPACE}/{name} not found (neither rendered nor a test object)")
        return found

    def secret_values(self) -> list[str]:
        """Every value of every Secret, to keep them out of anything printed."""
        out = []
        for (kind, _), data in self.data.items():
            if kind == "Secret":
                out += [v.decode(errors="replace") for v in data.values()]
        return out


@dataclasses.dataclass
class TestMaterial:
    """Throwaway material for the objects the chart only references."""

    ca_dir: Path
    jwks: bytes
    upstream_credentials: dict[str, str]  # env name -> value
    redis_url: str
    ins_secret_word: str


def make_material(workdir: Path, redis_port: int, redis_password: str) -> TestMaterial:
    ca_dir = workdir / "demo-ca"
    run_quiet(["bash", str(ROOT / "scripts" / "demo-ca.sh"), str(ca_dir)], "scripts/demo-ca.sh")
    # An Ed25519 JWKS (one of the three algorithms the gateway accepts): the raw public key is the
    # last 32 bytes of its DER SubjectPublicKeyInfo.
    key = workdir / "jwks-signing.key"
    run_quiet(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], "openssl genpkey")
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], capture_output=True, check=True
    ).stdout
    x = base64.urlsafe_b64encode(der[-32:]).rstrip(b"=").decode()
    jwks = json.dumps(
        {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "pod-smoke", "alg": "EdDSA", "use": "sig", "x": x}]}
    ).encode()
    credentials = {
        "TCO_ADMIN_API__USERNAME": "pod-smoke-" + secrets.token_hex(4),
        "TCO_ADMIN_API__PASSWORD": secrets.token_urlsafe(24),
        "TCO_PAYMENT_API__SELLER_ID": str(100000000 + secrets.randbelow(899999999)),
        "TCO_PAYMENT_API__PRIVATE_KEY": secrets.token_urlsafe(24),
    }
    return TestMaterial(
        ca_dir, jwks, credentials, f"redis://:{redis_password}@127.0.0.1:{redis_port}/0", secrets.token_urlsafe(18)
    )


def add_test_objects(pod: dict[str, Any], objects: Objects, material: TestMaterial, omit: set[str]) -> list[str]:
    """Creates what the pod references but the chart does not render, keyed by who consumes it
    (the volume or the variable), as an operator or cert-manager would have. Returns descriptions."""
    made: dict[tuple[str, str], tuple[dict[str, bytes], list[str]]] = {}

    def want(kind: str, name: str, key: str, value: bytes, why: str) -> None:
        if (kind, name) in objects.data or f"{kind}/{name}" in omit:
            return
        data, whys = made.setdefault((kind, name), ({}, []))
        data[key] = value
        if why not in whys:
            whys.append(why)

    ca = material.ca_dir
    for volume in pod.get("volumes", []):
        source_kind = "Secret" if "secret" in volume else "ConfigMap" if "configMap" in volume else None
        if source_kind is None:
            continue
        src = volume["secret"] if source_kind == "Secret" else volume["configMap"]
        name = src.get("secretName") or src.get("name")
        keys = [item["key"] for item in src.get("items", [])]
        if volume["name"] == "tls":
            for key, file in (("tls.crt", "server.crt"), ("tls.key", "server.key"), ("ca.crt", "ca.crt")):
                want(
                    source_kind,
                    name,
                    key,
                    (ca / file).read_bytes(),
                    "the server certificate cert-manager would write (scripts/demo-ca.sh: localhost, 127.0.0.1)",
                )
        elif volume["name"] == "client-ca":
            for key in keys:
                want(source_kind, name, key, (ca / "ca.crt").read_bytes(), "the client CA bundle (scripts/demo-ca.sh)")
        elif volume["name"] == "jwks":
            for key in keys:
                want(source_kind, name, key, material.jwks, "a JWKS with one Ed25519 key made here (openssl)")
    container = pod["containers"][0]
    for env in container.get("env", []):
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if not ref:
            continue
        if env["name"] in material.upstream_credentials:
            want(
                "Secret",
                ref["name"],
                ref["key"],
                material.upstream_credentials[env["name"]].encode(),
                "throwaway upstream credentials (the simulator is started with the same)",
            )
        elif env["name"] == "TCO_REDIS__URL":
            want(
                "Secret",
                ref["name"],
                ref["key"],
                material.redis_url.encode(),
                "the URL of the redis-server started here, with a throwaway password",
            )
        elif env["name"] == "TCO_INS__SECRET_WORD":
            want(
                "Secret",
                ref["name"],
                ref["key"],
                material.ins_secret_word.encode(),
                "a throwaway INS secret word (ins.existingSecret)",
            )
    out = []
    for (kind, name), (data, whys) in made.items():
        objects.add(kind, name, data, "test object")
        out.append(f"{kind}/{name} ({', '.join(sorted(data))}): {'; '.join(whys)}")
    return out


# --- the kubelet's part ----------------------------------------------------------------------------


@dataclasses.dataclass
class PodRun:
    """Everything `docker run` needs, plus what the checks need afterwards."""

    docker_args: list[str]
    env: dict[str, str]  # the container's environment as the kubelet builds it (secrets included)
    env_sources: list[str]  # printable: NAME <- source (never a secret value)
    command_line: list[str]  # image args after expansion (entrypoint handled in docker_args)
    notes: list[str]  # what is emulated how, what is not emulated


def synthesize_pod_meta(deployment: dict[str, Any]) -> dict[str, str]:
    """A pod name as a ReplicaSet would give it: <deployment>-<pod-template-hash>-<5 chars>."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' SafeEncodeString alphabet
    digest = hashlib.sha256(json.dumps(deployment["spec"]["template"], sort_keys=True).encode()).digest()
    template_hash = "".join(alphabet[b % len(alphabet)] for b in digest[:10])
    suffix = "".join(secrets.choice(alphabet) for _ in range(5))
    return {
        "name": f"{deployment['metadata']['name']}-{template_hash}-{suffix}",
        "namespace": NAMESPACE,
        "uid": str(__import__("uuid").uuid4()),
        "template_hash": template_hash,
    }


def check_pod_fields(pod: dict[str, Any], notes: list[str]) -> None:
    unknown = sorted(set(pod) - POD_EMULATED - set(POD_NOT_EMULATED))
    if unknown:
        raise Failed(f"pod spec fields this script does not emulate: {unknown}")
    for field in sorted(set(pod) & set(POD_NOT_EMULATED)):
        notes.append(f"not emulated: pod.{field} ({POD_NOT_EMULATED[field]})")
    if pod.get("automountServiceAccountToken") is not False:
        raise Failed("automountServiceAccountToken is not false: the token volume is not emulated here")
    if pod.get("enableServiceLinks") is not False:
        raise Failed("enableServiceLinks is not false: the Service environment variables are not emulated here")
    notes.append(
        f"serviceAccountName {pod.get('serviceAccountName')}: no token mounted "
        "(automountServiceAccountToken: false), so nothing to emulate"
    )
    if len(pod["containers"]) != 1:
        raise Failed(f"{len(pod['containers'])} containers: this script runs exactly one")


def field_ref(path: str, meta: dict[str, str], template_meta: dict[str, Any], pod: dict[str, Any]) -> str:
    """The downward API values the kubelet fills in (pod name, namespace, node name: synthesized)."""
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": NODE_NAME,
        "spec.serviceAccountName": pod.get("serviceAccountName", "default"),
        "status.hostIP": "127.0.0.1",
        "status.podIP": "127.0.0.1",
        "status.podIPs": "127.0.0.1",
        "status.hostIPs": "127.0.0.1",
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        return str((template_meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise Failed(f"fieldRef {path}: not emulated")


def resource_field_ref(ref: dict[str, Any], resources: dict[str, Any]) -> str:
    """limits./requests.cpu|memory, rounded up to the divisor as the kubelet does."""
    group, _, name = ref["resource"].partition(".")
    value = (resources.get(group) or {}).get(name)
    if value is None:
        raise Failed(f"resourceFieldRef {ref['resource']}: unset (the kubelet would use the node's allocatable)")
    divisor = parse_quantity(ref.get("divisor", "1"))
    return str(int((parse_quantity(value) / divisor).to_integral_value(rounding=decimal.ROUND_CEILING)))


def build_env(
    container: dict[str, Any],
    objects: Objects,
    meta: dict[str, str],
    template_meta: dict[str, Any],
    pod: dict[str, Any],
) -> tuple[dict[str, str], list[str]]:
    """The container's environment as the kubelet builds it: envFrom first (later sources win), then
    env in order, each plain value expanded against what is defined so far."""
    env: dict[str, str] = {}
    sources: list[str] = []
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        kind, ref = (
            ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
        )
        data = objects.get(kind, ref["name"], ref.get("optional", False), "envFrom: CreateContainerConfigError")
        for key, value in sorted((data or {}).items()):
            if "=" in key or not key.isprintable():
                sources.append(f"(skipped invalid key {key!r} of {kind}/{ref['name']})")
                continue
            env[prefix + key] = value.decode()
            sources.append(f"{prefix + key} <- envFrom {kind}/{ref['name']} ({objects.origin[(kind, ref['name'])]})")
    for item in container.get("env", []):
        name = item["name"]
        if "valueFrom" not in item:
            env[name] = expand(item.get("value", ""), env.get)
            sources.append(f"{name} <- value" + (" (with $(VAR) expanded)" if "$(" in item.get("value", "") else ""))
            continue
        value_from = item["valueFrom"]
        if "fieldRef" in value_from:
            env[name] = field_ref(value_from["fieldRef"]["fieldPath"], meta, template_meta, pod)
            sources.append(f"{name} <- fieldRef {value_from['fieldRef']['fieldPath']} = {env[name]}")
        elif "resourceFieldRef" in value_from:
            env[name] = resource_field_ref(value_from["resourceFieldRef"], container.get("resources", {}))
            sources.append(f"{name} <- resourceFieldRef {value_from['resourceFieldRef']['resource']}")
        elif "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
            kind, ref = (
                ("Secret", value_from["secretKeyRef"])
                if "secretKeyRef" in value_from
                else ("ConfigMap", value_from["configMapKeyRef"])
            )
            what = f"env {name}: CreateContainerConfigError"
            data = objects.get(kind, ref["name"], ref.get("optional", False), what)
            if data is None:
                continue  # optional and missing: the variable is left out
            if ref["key"] not in data:
                if ref.get("optional", False):
                    continue
                raise Failed(f"{what}: couldn't find key {ref['key']} in {kind} {NAMESPACE}/{ref['name']}")
            env[name] = data[ref["key"]].decode()
            sources.append(f"{name} <- {kind}/{ref['name']} key {ref['key']} ({objects.origin[(kind, ref['name'])]})")
        else:
            raise Failed(f"env {name}: valueFrom {sorted(value_from)} not emulated")
    return env, sources


def security_args(pod: dict[str, Any], container: dict[str, Any], image_user: str, notes: list[str]) -> list[str]:
    """The pod and container securityContext (the container's wins) as docker flags."""
    psc, csc = pod.get("securityContext") or {}, container.get("securityContext") or {}
    for where, sc in (("pod", psc), ("container", csc)):
        unknown = set(sc) - SECURITY_KNOWN
        if unknown:
            raise Failed(f"{where} securityContext fields not emulated: {sorted(unknown)}")
    merged = {**psc, **csc}
    args: list[str] = []
    user, _, group = image_user.partition(":")
    uid = merged.get("runAsUser", user or "0")
    gid = merged.get("runAsGroup", group or None)
    if merged.get("runAsNonRoot"):
        # The kubelet's refusal (CreateContainerConfigError), before any container exists.
        if not str(uid).isdigit():
            raise Failed(f"runAsNonRoot: image has non-numeric user ({uid}), cannot verify user is non-root")
        if int(uid) == 0:
            raise Failed(
                "runAsNonRoot: container's runAsUser breaks non-root policy (uid 0): the kubelet refuses to start it"
            )
    args += ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
    groups = ([psc["fsGroup"]] if "fsGroup" in psc else []) + list(psc.get("supplementalGroups", []))
    for g in groups:
        args += ["--group-add", str(g)]
    if merged.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if merged.get("privileged"):
        args.append("--privileged")
    caps = merged.get("capabilities") or {}
    for cap in caps.get("drop", []):
        args += ["--cap-drop", cap]
    for cap in caps.get("add", []):
        args += ["--cap-add", cap]
    if merged.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    seccomp = (merged.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    elif seccomp == "RuntimeDefault":
        notes.append(
            "seccompProfile RuntimeDefault: the engine's default seccomp profile (docker applies it unless told otherwise)"
        )
    elif seccomp is not None:
        raise Failed(f"seccompProfile {seccomp}: not emulated")
    return args


def resource_args(container: dict[str, Any], notes: list[str]) -> list[str]:
    """limits as cgroup limits, like the kubelet: memory (no swap), CPU quota; requests.cpu as shares."""
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    args: list[str] = []
    unknown = (set(limits) | set(requests)) - {"cpu", "memory"}
    if unknown:
        notes.append(f"not emulated: resources {sorted(unknown)}")
    if "memory" in limits:
        memory = str(int(parse_quantity(limits["memory"])))
        args += ["--memory", memory, "--memory-swap", memory]
    if "cpu" in limits:
        args += ["--cpus", str(parse_quantity(limits["cpu"]).normalize())]
    cpu_request = requests.get("cpu", limits.get("cpu"))
    if cpu_request is not None:
        args += ["--cpu-shares", str(max(2, int(parse_quantity(cpu_request) * 1024)))]
    if "memory" in requests:
        notes.append("not emulated: requests.memory (scheduling only; no cgroup setting without MemoryQoS)")
    return args


def write_atomic_volume(root: Path, files: dict[str, tuple[bytes, int]], fs_group: int | None) -> None:
    """The kubelet's atomic-writer layout: the files in a timestamped directory, ..data a symlink to it,
    and a symlink per top-level entry through ..data; then fsGroup ownership as SetVolumeOwnership does
    (group fsGroup, files |= 0440 on a read-only volume, directories setgid)."""
    root.mkdir(parents=True)
    root.chmod(0o777)
    stamp = (
        datetime.datetime.now(datetime.timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.") + f"{time.time_ns() % 10**9:09d}"
    )
    payload = root / stamp
    payload.mkdir()
    payload.chmod(0o755)
    for rel, (content, mode) in files.items():
        target = payload / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    (root / "..data").symlink_to(stamp)
    for top in sorted({rel.split("/", 1)[0] for rel in files}):
        (root / top).symlink_to(f"..data/{top}")
    if fs_group is None:
        return
    if os.geteuid() != 0:
        raise Failed("fsGroup ownership of the volumes needs root, as the kubelet has (run this script as root)")
    for path in [root, *root.rglob("*")]:
        os.lchown(path, -1, fs_group)
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o7777
        mask = 0o440 | (0o2000 | 0o110 if path.is_dir() else 0)
        path.chmod(mode | mask)


def volume_files(volume: dict[str, Any], objects: Objects) -> tuple[dict[str, tuple[bytes, int]], str]:
    """The files of a configMap or secret volume: items (key -> path, mode) or every key, defaultMode."""
    if "secret" in volume:
        kind, src, name_field = "Secret", volume["secret"], "secretName"
    elif "configMap" in volume:
        kind, src, name_field = "ConfigMap", volume["configMap"], "name"
    else:
        raise Failed(f"volume {volume['name']}: type {sorted(set(volume) - {'name'})} not emulated")
    name = src[name_field]
    what = f"volume {volume['name']}: FailedMount (the pod would stay ContainerCreating)"
    data = objects.get(kind, name, src.get("optional", False), what) or {}
    default_mode = src.get("defaultMode", 0o644)
    files: dict[str, tuple[bytes, int]] = {}
    items = src.get("items")
    if items is None:
        items = [{"key": k, "path": k} for k in sorted(data)]
    for item in items:
        if item["key"] not in data:
            if src.get("optional", False):
                continue
            raise Failed(
                f"{what}: {kind} {NAMESPACE}/{name} has no key {item['key']} "
                f"(configmap/secret references non-existent config key)"
            )
        path = item["path"]
        if path.startswith("/") or ".." in path.split("/"):
            raise Failed(f"volume {volume['name']}: item path {path!r} is invalid")
        files[path] = (data[item["key"]], item.get("mode", default_mode))
    modes = sorted({oct(m) for _, m in files.values()})
    return (
        files,
        f"{kind}/{name} ({objects.origin.get((kind, name), 'optional, missing')}), mode {', '.join(modes) or '-'}",
    )


def volume_args(
    pod: dict[str, Any], container: dict[str, Any], objects: Objects, workdir: Path, notes: list[str]
) -> list[str]:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    fs_group = (pod.get("securityContext") or {}).get("fsGroup")
    args: list[str] = []
    for mount in container.get("volumeMounts", []):
        unknown = set(mount) - {"name", "mountPath", "readOnly"}
        if unknown:
            raise Failed(f"volumeMount {mount['name']}: {sorted(unknown)} not emulated")
        volume = volumes.get(mount["name"])
        if volume is None:
            raise Failed(f"volumeMount {mount['name']}: no such volume in the pod spec")
        files, description = volume_files(volume, objects)
        root = workdir / "volumes" / mount["name"]
        write_atomic_volume(root, files, fs_group)
        # configMap and secret volumes are always read-only, whatever readOnly says.
        args += ["--mount", f"type=bind,source={root},target={mount['mountPath']},readonly"]
        notes.append(
            f"volume {mount['name']} -> {mount['mountPath']} (read-only, atomic-writer layout"
            f"{', group ' + str(fs_group) if fs_group is not None else ''}): {description}; "
            f"files {', '.join(sorted(files))}"
        )
    unmounted = sorted(set(volumes) - {m["name"] for m in container.get("volumeMounts", [])})
    if unmounted:
        notes.append(f"volumes not mounted by the container: {unmounted}")
    return args


def prepare_pod(
    deployment: dict[str, Any], objects: Objects, image: str, workdir: Path, container_name: str, meta: dict[str, str]
) -> PodRun:
    pod = deployment["spec"]["template"]["spec"]
    template_meta = deployment["spec"]["template"]["metadata"]
    notes: list[str] = []
    check_pod_fields(pod, notes)
    container = pod["containers"][0]
    unknown = sorted(set(container) - CONTAINER_KNOWN)
    if unknown:
        raise Failed(f"container fields this script does not emulate: {unknown}")
    notes.append(
        f"image: the chart says {container['image']}, this run uses {image} (--image); "
        f"imagePullPolicy {container.get('imagePullPolicy')} -> --pull never (no registry here)"
    )
    notes.append(
        "not emulated: the pod's own network namespace and hostname (--network host: every "
        "container port is a host port, hence the free ports of ports.yaml)"
    )
    if deployment["spec"].get("replicas", 1) != 1 or "replicas" not in deployment["spec"]:
        notes.append(f"not emulated: replicas ({deployment['spec'].get('replicas', 'HPA-owned')}): one pod is run")
    image_user = docker(["image", "inspect", "--format", "{{.Config.User}}", image]).strip()
    args = [
        "run",
        "--detach",
        "--name",
        container_name,
        "--network",
        "host",
        "--pull",
        "never",
        "--restart",
        "no",
        "--label",
        "pod-smoke=1",
    ]
    args += security_args(pod, container, image_user, notes)
    args += resource_args(container, notes)
    args += volume_args(pod, container, objects, workdir, notes)
    # The kubelet bind-mounts a writable file for the termination message.
    termination_log = workdir / "termination-log"
    termination_log.touch()
    termination_log.chmod(0o666)
    args += [
        "--mount",
        f"type=bind,source={termination_log},target={container.get('terminationMessagePath', '/dev/termination-log')}",
    ]
    env, sources = build_env(container, objects, meta, template_meta, pod)
    for name in env:
        args += ["--env", name]  # values from the docker CLI's environment: never on a command line
    if container.get("workingDir"):
        args += ["--workdir", container["workingDir"]]
    # command replaces the image's ENTRYPOINT (and its CMD), args its CMD; both expanded against the
    # whole environment.
    command = [expand(c, env.get) for c in container.get("command", [])]
    cmd_args = [expand(a, env.get) for a in container.get("args", [])]
    if command:
        args += ["--entrypoint", command[0]]
    args.append(image)
    image_args = command[1:] + cmd_args
    args += image_args
    return PodRun(args, env, sources, image_args, notes)


# --- processes: docker, the simulator, redis ---------------------------------------------------------


def docker(args: list[str], env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise Failed(f"docker {args[0]} failed: {proc.stderr.strip()}")
    return proc.stdout


def run_quiet(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failed(f"{what} failed: {proc.stderr.strip()[-2000:]}")


class Cleanup:
    """Whatever a scenario started, stopped on success and failure alike."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.dirs: list[Path] = []

    def close(self) -> None:
        for name in self.containers:
            docker(["rm", "--force", "--volumes", name], check=False)
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def wait_for(what: str, predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_simulator(binary: str, port: int, credentials: dict[str, str], workdir: Path, cleanup: Cleanup) -> None:
    """The simulator on the overlay's port, accepting exactly the credentials the pod got."""
    env = {**os.environ, "TCO_SIM_ADDR": f"127.0.0.1:{port}", "RUST_LOG": "warn"}
    for var, sim_var in (
        ("TCO_ADMIN_API__USERNAME", "TCO_SIM_USERNAME"),
        ("TCO_ADMIN_API__PASSWORD", "TCO_SIM_PASSWORD"),
        ("TCO_PAYMENT_API__SELLER_ID", "TCO_SIM_SELLER_ID"),
        ("TCO_PAYMENT_API__PRIVATE_KEY", "TCO_SIM_PRIVATE_KEY"),
    ):
        if var in credentials:
            env[sim_var] = credentials[var]
    out = (workdir / "simulator.log").open("wb")
    proc = subprocess.Popen([binary], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    cleanup.processes.append(proc)
    wait_for("the simulator listening", lambda: proc.poll() is None and port_open(port), 20)


def start_redis(url: str, expected_port: int, workdir: Path, cleanup: Cleanup) -> str:
    """A redis-server for the URL the pod got (its password from the URL, given on stdin, never argv)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname != "127.0.0.1" or parsed.port != expected_port:
        raise Failed(f"TCO_REDIS__URL points at {parsed.hostname}:{parsed.port}, not the redis-server of this run")
    config = f'port {expected_port}\nbind 127.0.0.1\nsave ""\nappendonly no\n'
    if parsed.password:
        config += f"requirepass {urllib.parse.unquote(parsed.password)}\n"
    out = (workdir / "redis.log").open("wb")
    proc = subprocess.Popen(["redis-server", "-"], stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
    assert proc.stdin is not None
    proc.stdin.write(config.encode())
    proc.stdin.close()
    cleanup.processes.append(proc)
    wait_for("redis-server listening", lambda: proc.poll() is None and port_open(expected_port), 20)
    return f"127.0.0.1:{expected_port}"


# --- probes and checks ---------------------------------------------------------------------------------


def grpc_probe(probe: dict[str, Any]) -> tuple[bool, str]:
    """One kubelet gRPC probe: a fresh connection to the pod IP (here 127.0.0.1) on the probe's port,
    grpc.health.v1.Health/Check with its service, timeoutSeconds for the lot; success only on SERVING."""
    grpc_cfg = probe["grpc"]
    timeout = probe.get("timeoutSeconds", PROBE_DEFAULTS["timeoutSeconds"])
    channel = grpc.insecure_channel(
        f"127.0.0.1:{grpc_cfg['port']}", options=[("grpc.primary_user_agent", "kube-probe/1.35")]
    )
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=grpc_cfg.get("service", "")), timeout=timeout
        )
    except grpc.RpcError as exc:
        return False, f"{exc.code().name}: {exc.details()}"  # type: ignore[attr-defined]
    finally:
        channel.close()
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    return status == "SERVING", status


def probe_config(container: dict[str, Any], kind: str) -> dict[str, Any] | None:
    probe = container.get(kind)
    if probe is None:
        return None
    handlers = set(probe) & {"grpc", "httpGet", "tcpSocket", "exec"}
    if handlers != {"grpc"}:
        raise Failed(f"{kind}: handler {sorted(handlers)} not emulated (only grpc)")
    unknown = set(probe) - set(PROBE_DEFAULTS) - {"grpc", "terminationGracePeriodSeconds"}
    if unknown:
        raise Failed(f"{kind}: fields {sorted(unknown)} not emulated")
    if set(probe["grpc"]) - {"port", "service"}:
        raise Failed(f"{kind}.grpc: fields {sorted(set(probe['grpc']) - {'port', 'service'})} not emulated")
    return {**PROBE_DEFAULTS, **probe}


class Container:
    """The running container, as docker reports it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def state(self) -> dict[str, Any]:
        return json.loads(docker(["inspect", "--format", "{{json .State}}", self.name]))

    def running(self) -> bool:
        return bool(self.state()["Running"])

    def ensure_running(self, during: str) -> None:
        state = self.state()
        if not state["Running"]:
            raise Failed(
                f"the container exited with status {state['ExitCode']} during {during}"
                + (" (OOMKilled)" if state.get("OOMKilled") else "")
            )


def run_probe_until(container: Container, kind: str, probe: dict[str, Any], attempts: int) -> tuple[float, int, str]:
    """Probes every periodSeconds (after initialDelaySeconds) until one succeeds; fails after `attempts`
    failures in a row, as the kubelet counts them. Returns (seconds taken, attempts used, last result)."""
    start = time.monotonic()
    time.sleep(probe["initialDelaySeconds"])
    results: list[str] = []
    for attempt in range(1, attempts + 1):
        container.ensure_running(kind)
        began = time.monotonic()
        ok, detail = grpc_probe(probe)
        results.append(detail)
        if ok:
            return time.monotonic() - start, attempt, detail
        if attempt < attempts:
            time.sleep(max(0.0, probe["periodSeconds"] - (time.monotonic() - began)))
    seen = ", ".join(sorted(set(results)))
    grpc_cfg = probe["grpc"]
    raise Failed(
        f"{kind} (grpc port {grpc_cfg['port']}, service {grpc_cfg.get('service', '')!r}) failed "
        f"{attempts} times in a row ({seen})"
    )


def scrape_metrics(port: int, path: str, meta: dict[str, str]) -> str:
    """The metrics port answers in the Prometheus text format with a gateway metric, and target_info
    carries the pod's name and namespace (OTEL_RESOURCE_ATTRIBUTES after $(VAR) expansion)."""
    url = f"http://127.0.0.1:{port}{path}"
    body = ""
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = resp.read().decode()
            if re.search(r"^tco_\w+", body, re.M):
                break
        except (urllib.error.URLError, OSError) as exc:
            body = f"({exc})"
        if time.monotonic() > deadline:
            raise Failed(f"metrics: no tco_* metric at {url}: {body[:300]}")
        time.sleep(0.5)
    metric = re.search(r"^(tco_\w+)", body, re.M).group(1)  # type: ignore[union-attr]
    target = next((line for line in body.splitlines() if line.startswith("target_info{")), "")
    want = [
        f'k8s_pod_name="{meta["name"]}"',
        f'k8s_namespace_name="{meta["namespace"]}"',
        f'k8s_node_name="{NODE_NAME}"',
    ]
    missing = [w for w in want if w not in target]
    if missing:
        raise Failed(f"metrics: target_info lacks {missing} (fieldRef + $(VAR) expansion): {target[:400]}")
    return f"{metric}, target_info k8s_pod_name"


def ins_notification(vendor: str, secret_word: str, message_id: str) -> dict[str, str]:
    """An ORDER_CREATED notification for one item as 2Checkout posts it (INS 1.1: 15 header, 6
    invoice, 22 buyer and address fields, item_count, 12 per item: key_count 56), signed with the
    documented rule: uppercase hex MD5 of sale_id + vendor_id + invoice_id + secret word."""
    sale, invoice = "9093717691800", "9093717691809"
    form = {
        "message_type": "ORDER_CREATED", "message_description": "New order created",
        "timestamp": "2026-12-01 00:00:00", "md5_hash": "", "message_id": message_id, "key_count": "56",
        "vendor_id": vendor, "sale_id": sale, "sale_date_placed": "2026-12-01 00:00:00", "vendor_order_id": "pod-smoke",
        "invoice_id": invoice, "recurring": "0", "payment_type": "credit card", "list_currency": "USD",
        "cust_currency": "USD", "auth_exp": "2026-12-08", "invoice_status": "approved", "fraud_status": "pass",
        "invoice_list_amount": "10.00", "invoice_usd_amount": "10.00", "invoice_cust_amount": "10.00",
        "customer_first_name": "Pod", "customer_last_name": "Smoke", "customer_name": "Pod Smoke",
        "customer_email": "pod-smoke@example.com", "customer_phone": "5555555555", "customer_ip": "192.0.2.1",
        "customer_ip_country": "United States", "bill_street_address": "123 Test St", "bill_street_address2": "",
        "bill_city": "Columbus", "bill_state": "OH", "bill_postal_code": "43123", "bill_country": "USA",
        "ship_status": "", "ship_tracking_number": "", "ship_name": "", "ship_street_address": "",
        "ship_street_address2": "", "ship_city": "", "ship_state": "", "ship_postal_code": "", "ship_country": "",
        "item_count": "1", "item_name_1": "Download", "item_id_1": "ebook1", "item_list_amount_1": "10.00",
        "item_usd_amount_1": "10.00", "item_cust_amount_1": "10.00", "item_type_1": "bill", "item_duration_1": "",
        "item_recurrence_1": "", "item_rec_list_amount_1": "", "item_rec_status_1": "", "item_rec_date_next_1": "",
        "item_rec_install_billed_1": "",
    }
    assert len(form) == 56, len(form)
    form["md5_hash"] = hashlib.md5(f"{sale}{vendor}{invoice}{secret_word}".encode()).hexdigest().upper()
    return form


def check_ins(container: dict[str, Any], env: dict[str, str]) -> str:
    """With the INS receiver on (a container port named ins): a notification signed with the pod's
    secret word (as the kubelet handed it over from the Secret) is accepted with a 2xx, proving the
    word and the vendor id reached the receiver; the same notification signed with another word
    is refused with a 4xx; a path other than /ins answers 404. The secret word is never printed;
    that it stays out of the container's log is checked with the other secrets."""
    port = next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == "ins"), None)
    if port is None:
        return "no port named ins (ins.enabled is false)"
    secret_word = env.get("TCO_INS__SECRET_WORD")
    if not secret_word:
        raise Failed("INS: the container has a port named ins but no TCO_INS__SECRET_WORD")
    vendor = env.get("TCO_INS__VENDOR_ID") or env.get("TCO_PAYMENT_API__SELLER_ID", "")

    def post(path: str, form: dict[str, str]) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=urllib.parse.urlencode(form).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # The probes said SERVING, so the receiver should listen already; a refused connection is
        # retried briefly (observed state, not a sleep), then reported as no receiver.
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except (urllib.error.URLError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise Failed(
                        f"INS: nothing answers on :{port} ({exc}): is the receiver listening on TCO_INS__LISTEN_ADDR "
                        f"({env.get('TCO_INS__LISTEN_ADDR')})?"
                    ) from None
                time.sleep(0.2)

    message_id = str(secrets.randbelow(10**9) + 1)
    forged = post("/ins", ins_notification(vendor, "not-" + secret_word, message_id))
    if not 400 <= forged < 500:
        raise Failed(f"INS: a notification signed with another secret word got HTTP {forged} on :{port}/ins, not a 4xx")
    signed = post("/ins", ins_notification(vendor, secret_word, message_id))
    if not 200 <= signed < 300:
        raise Failed(
            f"INS: a notification signed with the pod's secret word (vendor_id from "
            f"{'TCO_INS__VENDOR_ID' if env.get('TCO_INS__VENDOR_ID') else 'TCO_PAYMENT_API__SELLER_ID'}) got HTTP "
            f"{signed} on :{port}/ins, not a 2xx: the secret word or the vendor id did not reach the receiver"
        )
    other = post("/not-ins", ins_notification(vendor, secret_word, message_id))
    if other != 404:
        raise Failed(f"INS: POST :{port}/not-ins got HTTP {other}, not 404")
    return f"ok on :{port}: signed -> {signed}, another secret word -> {forged}, /not-ins -> {other}"


def get_sale(container: dict[str, Any], workdir: Path, material: TestMaterial, env: dict[str, str]) -> str:
    """One real call through the pod's gRPC port, as the demo client support-tool (its certificate from
    scripts/demo-ca.sh): OK when the mounted policy lets it GetSale (then the TLS Secret, the client CA,
    the policy, the upstream URL and the credentials all worked), UNAUTHENTICATED when the policy does
    not know it (the chart's default: no callers). Hand-encoded protobuf: no generated stubs needed."""
    port = next(p["containerPort"] for p in container["ports"] if p.get("name") == "grpc")
    # The policy file the gateway reads, through the volume it is mounted from.
    policy_file = env["TCO_AUTH__POLICY_FILE"]
    mount = next(m for m in container.get("volumeMounts", []) if policy_file.startswith(m["mountPath"] + "/"))
    policy = tomllib.loads(
        (workdir / "volumes" / mount["name"] / policy_file[len(mount["mountPath"]) + 1 :]).read_text()
    )
    allowed = any(
        c["identity"] == "spiffe://payments.internal/support-tool"
        and any(m in ("twocheckout.v1.SalesService/GetSale", "twocheckout.v1.SalesService/*") for m in c["methods"])
        for c in policy.get("caller", [])
    )
    ca = material.ca_dir
    if env.get("TCO_SERVER__INSECURE") == "true":
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    else:
        creds = grpc.ssl_channel_credentials(
            (ca / "ca.crt").read_bytes(), (ca / "support-tool.key").read_bytes(), (ca / "support-tool.crt").read_bytes()
        )
        channel = grpc.secure_channel(
            f"127.0.0.1:{port}", creds, options=[("grpc.ssl_target_name_override", "localhost")]
        )
    sale_id = b"4647892238"  # the simulator's documented sale
    call = channel.unary_unary("/twocheckout.v1.SalesService/GetSale")
    try:
        reply = call(b"\x0a" + bytes([len(sale_id)]) + sale_id, timeout=15)
        code, detail = (
            "OK",
            f"{len(reply)} bytes, sale {sale_id.decode()} found" if sale_id in reply else "sale id missing",
        )
    except grpc.RpcError as exc:
        code, detail = exc.code().name, exc.details()  # type: ignore[attr-defined]
    finally:
        channel.close()
    want = "OK" if allowed else "UNAUTHENTICATED"
    if code != want or (code == "OK" and "found" not in detail):
        raise Failed(
            f"GetSale over mTLS as support-tool: {code} ({detail}), want {want} "
            f"(the policy {'lists' if allowed else 'does not list'} it)"
        )
    return f"{code} ({detail})" + ("" if allowed else ": the policy has no such caller, as rendered")


def redacted(text: str, secret_values: list[str]) -> str:
    for value in sorted(secret_values, key=len, reverse=True):
        for piece in [value, *value.splitlines()]:
            if len(piece.strip()) >= 6 and "-----" not in piece:
                text = text.replace(piece.strip(), "<redacted>")
    return text


# --- one scenario --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    scenario: str
    ok: bool
    rows: list[tuple[str, str]]
    seconds: float
    error: str = ""


def write_values(scenario: Scenario, extra_values: list[Path], variables: dict[str, str], workdir: Path) -> list[Path]:
    """The scenario's values file, then each overlay with its placeholders filled in (helm -f order);
    every overlay is listed with its reason (its header comment)."""
    files: list[Path] = [CHART / "ci" / scenario.values_file] if scenario.values_file else []
    for overlay in [OVERLAYS / o for o in scenario.overlays] + extra_values:
        text = overlay.read_text()
        reason = " ".join(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#"))
        out = workdir / f"values-{len(files)}-{overlay.name}"
        out.write_text(substitute(text, variables, str(overlay)))
        files.append(out)
        log(f"   overlay {overlay.relative_to(ROOT) if overlay.is_relative_to(ROOT) else overlay}: {reason}")
    return files


def the_deployment(objs: list[dict[str, Any]], edits: list[str]) -> dict[str, Any]:
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    if len(deployments) != 1:
        raise Failed(f"expected one Deployment, rendered {len(deployments)}")
    others = sorted(
        f"{o['kind']}/{o['metadata']['name']}" for o in objs if o["kind"] not in ("Deployment", "ConfigMap", "Secret")
    )
    log(f"   not exercised as objects (no API server, no controllers): {', '.join(others)}")
    for edit in edits:
        apply_edit(deployments[0], edit)
        log(f"   edited the rendered Deployment: {edit}")
    return deployments[0]


def log_pod(run: PodRun, probes: dict[str, dict[str, Any] | None]) -> None:
    for note in run.notes:
        log(f"   {note}")
    log("   env (as the kubelet builds it; values of Secrets never shown):")
    for line in run.env_sources:
        log(f"     {line}")
    if "OTEL_RESOURCE_ATTRIBUTES" in run.env:
        log(f"     => OTEL_RESOURCE_ATTRIBUTES={run.env['OTEL_RESOURCE_ATTRIBUTES']}")
    for kind, probe in probes.items():
        if probe:
            log(
                f"   {kind}: grpc port {probe['grpc']['port']} service {probe['grpc'].get('service', '')!r}, "
                f"period {probe['periodSeconds']} s, failureThreshold {probe['failureThreshold']}, "
                f"timeout {probe['timeoutSeconds']} s"
            )


def check_probes(box: Container, probes: dict[str, dict[str, Any] | None], t0: float) -> list[tuple[str, str]]:
    """The startup probe within its whole budget, then liveness and readiness, as the kubelet starts them."""
    rows = []
    startup = probes["startupProbe"]
    attempt = ""
    if startup:
        _, attempts, _ = run_probe_until(box, "startupProbe", startup, startup["failureThreshold"])
        attempt = f", attempt {attempts}"
    rows.append(("started (startupProbe SERVING)", f"{time.monotonic() - t0:.1f} s{attempt}"))
    for kind in ("livenessProbe", "readinessProbe"):
        probe = probes[kind]
        if probe is None:
            rows.append((kind, "none in the pod spec"))
            continue
        _, attempts, detail = run_probe_until(box, kind, probe, probe["failureThreshold"])
        rows.append((kind, f"{detail} (service {probe['grpc'].get('service', '')!r}, attempt {attempts})"))
    return rows


def check_termination(box: Container, grace: int, readiness: dict[str, Any] | None) -> list[tuple[str, str]]:
    """SIGTERM as the kubelet sends it: readiness answers NOT_SERVING while the process still runs (the
    drain), then the process exits 0 before terminationGracePeriodSeconds (the kubelet's SIGKILL)."""
    if readiness is None:
        raise Failed("no readiness probe: nothing would take the pod out of its Service on SIGTERM")
    term_at = time.monotonic()
    docker(["kill", "--signal", "TERM", box.name])
    seen_not_serving = None
    while time.monotonic() - term_at < grace:
        _, detail = grpc_probe(readiness)
        if detail == "NOT_SERVING":
            if box.running():
                seen_not_serving = time.monotonic() - term_at
            break
        if not box.running():
            break
        time.sleep(0.1)
    if seen_not_serving is None:
        raise Failed("after SIGTERM the readiness probe never answered NOT_SERVING while the process still ran")
    rows = [("after SIGTERM", f"readiness NOT_SERVING after {seen_not_serving:.1f} s, process still running")]
    while box.running():
        if time.monotonic() > term_at + grace:
            raise Failed(
                f"still running {grace} s (terminationGracePeriodSeconds) after SIGTERM: the kubelet would SIGKILL it"
            )
        time.sleep(0.2)
    exit_code = box.state()["ExitCode"]
    if exit_code != 0:
        raise Failed(f"exit status {exit_code} after SIGTERM (want 0)")
    rows.append(("exit", f"0 after {time.monotonic() - term_at:.1f} s (terminationGracePeriodSeconds {grace})"))
    return rows


def run_scenario(
    name: str, args: argparse.Namespace, extra_values: list[Path], omit: set[str], edits: list[str]
) -> Result:
    """Renders, prepares, runs and checks one scenario; everything it started is gone when it returns."""
    scenario = SCENARIOS[name]
    started = time.monotonic()
    rows: list[tuple[str, str]] = []
    cleanup = Cleanup()
    workdir = Path(tempfile.mkdtemp(prefix=f"pod-smoke-{name}-"))
    workdir.chmod(0o755)  # the engine's bind mounts must reach the volumes below
    cleanup.dirs.append(workdir)
    container_name = f"{CONTAINER_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(3)}"
    secret_values: list[str] = []
    try:
        log(
            f"\n== scenario {name}: values "
            + (f"helm/tco-gateway/ci/{scenario.values_file}" if scenario.values_file else "chart defaults")
        )
        ports = {
            p: free_port()
            for p in ("GRPC_PORT", "HEALTH_PORT", "METRICS_PORT", "INS_PORT", "SIMULATOR_PORT", "REDIS_PORT", "OTLP_PORT")
        }
        redis_password = secrets.token_urlsafe(18)
        secret_values.append(redis_password)
        variables = {k: str(v) for k, v in ports.items()} | {"REDIS_PASSWORD": redis_password}
        value_files = write_values(scenario, extra_values, variables, workdir)
        log(
            f"   runtime values: ports {', '.join(f'{k}={v}' for k, v in ports.items())}; REDIS_PASSWORD random (not shown)"
        )

        objs, renderer = render_objects(args.helm, value_files, workdir)
        log(f"   rendered with {renderer}: " + ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objs))
        deployment = the_deployment(objs, edits)
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]

        objects = Objects()
        for o in objs:
            if o["kind"] in ("Secret", "ConfigMap"):
                objects.add_rendered(o)
        material = make_material(workdir, ports["REDIS_PORT"], redis_password)
        secret_values += list(material.upstream_credentials.values()) + [
            (material.ca_dir / "server.key").read_text(),
            material.ins_secret_word,
        ]
        for line in add_test_objects(pod, objects, material, omit):
            log(f"   test object {line}")
        secret_values += objects.secret_values()

        meta = synthesize_pod_meta(deployment)
        run = prepare_pod(deployment, objects, args.image, workdir, container_name, meta)
        probes = {k: probe_config(container, k) for k in ("startupProbe", "livenessProbe", "readinessProbe")}
        log_pod(run, probes)

        # Upstream and Redis, as the pod's own environment names them.
        start_simulator(args.simulator, ports["SIMULATOR_PORT"], run.env, workdir, cleanup)
        redis_addr = None
        if "TCO_REDIS__URL" in run.env:
            redis_addr = start_redis(run.env["TCO_REDIS__URL"], ports["REDIS_PORT"], workdir, cleanup)

        log("   docker " + " ".join(run.docker_args))
        cleanup.containers.append(container_name)
        t0 = time.monotonic()
        docker(run.docker_args, env=run.env)
        box = Container(container_name)
        pid = box.state().get("Pid")
        log(f"   container {container_name} pid {pid}")
        rows.append(("as the engine applied it", engine_applied(container_name, pid)))

        rows += check_probes(box, probes, t0)
        metrics_port = next(
            (p["containerPort"] for p in container.get("ports", []) if p.get("name") == "metrics"), None
        )
        if metrics_port is not None:
            # The ServiceMonitor's path when the chart renders one (Prometheus' default otherwise).
            monitor = next((o for o in objs if o["kind"] == "ServiceMonitor"), None)
            path = monitor["spec"]["endpoints"][0].get("path", "/metrics") if monitor else "/metrics"
            rows.append(("metrics", f"ok on :{metrics_port}{path} ({scrape_metrics(metrics_port, path, meta)})"))
        else:
            rows.append(("metrics", "no port named metrics"))
        rows.append(("GetSale over mTLS (support-tool)", get_sale(container, workdir, material, run.env)))
        rows.append(("INS receiver (signed, forged, other path)", check_ins(container, run.env)))
        if redis_addr:
            # The connection is lazy (no call here needs Redis), but the gateway logs the address it got.
            pattern = re.compile(r'redis("?[=:]"?)' + re.escape(redis_addr))
            wait_for(
                "the gateway naming the Redis of its TCO_REDIS__URL in its log",
                lambda: bool(pattern.search(container_logs(container_name, 100000))),
                10,
                0.5,
            )
            rows.append(("TCO_REDIS__URL from the Secret", f"ok (the gateway logs redis={redis_addr})"))

        rows += check_termination(box, pod.get("terminationGracePeriodSeconds", 30), probes["readinessProbe"])
        check_log_secrets(container_name, secret_values)
        rows.append(("no secret in the container's log", "ok"))
        return Result(name, True, rows, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, with the container's log
        message = str(exc) if isinstance(exc, Failed) else "internal error: " + "".join(traceback.format_exception(exc))
        error = redacted(message, secret_values)
        if container_name in cleanup.containers:
            tail = redacted(container_logs(container_name), secret_values)
            error += "\n   last log lines of the container:\n" + "\n".join("     " + line for line in tail.splitlines())
        return Result(name, False, rows, time.monotonic() - started, error)
    finally:
        cleanup.close()


def container_logs(name: str, lines: int = 25) -> str:
    proc = subprocess.run(["docker", "logs", "--tail", str(lines), name], capture_output=True, text=True)
    return (proc.stdout + proc.stderr).strip() or "(no output)"


def engine_applied(name: str, pid: Any) -> str:
    """What the engine made of the flags: the process's ids, no_new_privs and capabilities from /proc
    (the engine runs on this machine), the root filesystem and limits from docker inspect."""
    host = json.loads(docker(["inspect", "--format", "{{json .HostConfig}}", name]))
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fields = {k: v.strip() for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)}
        process = (
            f"uid {fields['Uid'].split()[0]} gid {fields['Gid'].split()[0]} groups [{fields['Groups']}], "
            f"NoNewPrivs {fields.get('NoNewPrivs', '?')}, CapEff {fields['CapEff']}"
        )
    except OSError:
        process = "process not visible in /proc"
    memory = f"{host['Memory'] / 2**20:.0f}Mi" if host.get("Memory") else "unlimited"
    cpus = f"{host['NanoCpus'] / 1e9:g}" if host.get("NanoCpus") else "unlimited"
    return (
        f"{process}, read-only root fs {host.get('ReadonlyRootfs')}, memory {memory}, cpus {cpus}, "
        f"seccomp {'default' if not any(o.startswith('seccomp') for o in host.get('SecurityOpt') or []) else host['SecurityOpt']}"
    )


def check_log_secrets(name: str, secret_values: list[str]) -> None:
    text = container_logs(name, 100000)
    if redacted(text, secret_values) != text or "PRIVATE KEY" in text:
        raise Failed("a secret value reached the container's log")


def apply_edit(deployment: dict[str, Any], edit: str) -> None:
    """PATH=YAML on the rendered Deployment (a kustomize-like patch), e.g.
    spec.template.spec.containers[0].securityContext.runAsUser=0; a list element may be chosen by name
    (env[name=TCO_ADMIN_API__PASSWORD]); the value null removes the field or list element."""
    depth, cut = 0, -1
    for i, ch in enumerate(edit):  # the first "=" outside brackets ends the path
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "=" and depth == 0:
            cut = i
            break
    if cut < 0:
        raise Failed(f"--edit {edit}: want PATH=YAML")
    path, raw = edit[:cut], edit[cut + 1 :]
    # Split on dots outside brackets: [name=...] may itself hold dots.
    parts = re.findall(r"\[[^\]]*\]|[^.\[\]]+", path)
    value = yaml.safe_load(raw) if raw.strip() else None

    def index(node: Any, part: str) -> Any:
        if not part.startswith("["):
            return part
        inner = part[1:-1]
        if inner.isdigit():
            return int(inner)
        key, _, want = inner.partition("=")
        for i, element in enumerate(node):
            if isinstance(element, dict) and str(element.get(key)) == want:
                return i
        raise Failed(f"--edit {edit}: no element with {key}={want}")

    node: Any = deployment
    for part in parts[:-1]:
        key = index(node, part)
        node = node[key] if isinstance(key, int) else node.setdefault(key, {})
    key = index(node, parts[-1])
    if value is None:
        del node[key]
    else:
        node[key] = value


# --- proving the checks can fail -------------------------------------------------------------------------

FAILURE_CASES = [
    # (what, scenario, extra overlay, omitted test object, edit of the rendered Deployment, text the failure must hold)
    (
        "a readiness probe asking about the wrong service",
        "defaults",
        "broken-readiness-service.yaml",
        None,
        None,
        "readinessProbe (grpc port",
    ),
    ("the TLS Secret missing (volume)", "defaults", None, "Secret/tco-gateway-tls", None, "volume tls: FailedMount"),
    (
        "a secretKeyRef to a key the chart's Secret lacks (env)",
        "credentials",
        None,
        None,
        "spec.template.spec.containers[0].env[name=TCO_ADMIN_API__PASSWORD].valueFrom.secretKeyRef.key=no-such-key",
        "couldn't find key no-such-key in Secret payments/tco-gateway",
    ),
    (
        "the Admin API password left out of the env (the gateway exits at start)",
        "credentials",
        None,
        None,
        "spec.template.spec.containers[0].env[name=TCO_ADMIN_API__PASSWORD]=null",
        "the container exited with status",
    ),
    (
        "runAsUser 0 with runAsNonRoot",
        "defaults",
        None,
        None,
        "spec.template.spec.containers[0].securityContext.runAsUser=0",
        "runAsNonRoot",
    ),
    (
        "the metrics port moved away from the exporter's",
        "defaults",
        None,
        None,
        "spec.template.spec.containers[0].ports[name=metrics].containerPort=1",
        "metrics: no tco_* metric",
    ),
    (
        "a startup probe on a port nothing serves (its budget: 2 x 2 s)",
        "defaults",
        None,
        None,
        "spec.template.spec.containers[0].startupProbe={grpc: {port: 1}, periodSeconds: 2, failureThreshold: 2}",
        "startupProbe (grpc port 1",
    ),
    (
        "terminationGracePeriodSeconds below the drain period (the kubelet's SIGKILL)",
        "defaults",
        None,
        None,
        "spec.template.spec.terminationGracePeriodSeconds=2",
        "the kubelet would SIGKILL it",
    ),
    (
        "a container field the script does not emulate",
        "defaults",
        None,
        None,
        "spec.template.spec.containers[0].lifecycle={preStop: {sleep: {seconds: 1}}}",
        "container fields this script does not emulate",
    ),
]


def prove_failures(args: argparse.Namespace) -> bool:
    log("\n== proving the checks can fail: each broken variant must fail with its message")
    all_ok = True
    for what, scenario, overlay, omit, edit, needle in FAILURE_CASES:
        result = run_scenario(
            scenario, args, [OVERLAYS / overlay] if overlay else [], {omit} if omit else set(), [edit] if edit else []
        )
        if result.ok or needle not in result.error:
            all_ok = False
            log(f"FAIL  {what}: {'it passed' if result.ok else 'failed for another reason: ' + result.error}")
        else:
            log(f"ok    {what}: failed as it must ({result.seconds:.0f} s): {result.error}")
    return all_ok


# --- main ---------------------------------------------------------------------------------------------


def print_result(result: Result) -> None:
    log(f"\n   {result.scenario}: {'ok' if result.ok else 'FAILED'} in {result.seconds:.1f} s")
    width = max([len(k) for k, _ in result.rows] + [10])
    for key, value in result.rows:
        log(f"   | {key.ljust(width)} | {value}")
    if result.error:
        log(f"   FAILED: {result.error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--image", required=True, help="the image to run instead of the chart's image (on the engine already)"
    )
    parser.add_argument("--simulator", required=True, help="the tco-simulator binary (the upstream of every scenario)")
    parser.add_argument("--helm", help="a helm binary (v3 or v4) to render with; default: helm-python-sdk")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    parser.add_argument("--values", action="append", type=Path, default=[], help="one more values overlay (last wins)")
    parser.add_argument("--omit-object", action="append", default=[], help="KIND/NAME: a test object not to create")
    parser.add_argument("--edit", action="append", default=[], help="PATH=YAML edit of the rendered Deployment")
    parser.add_argument(
        "--prove-failures",
        action="store_true",
        help="instead of the scenarios: broken variants that must each fail with their own message",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    for tool in ("docker", "redis-server", "openssl"):
        if not shutil.which(tool):
            log(f"pod_smoke: {tool} not found")
            return 1
    log(
        f"== the rendered pod, run as a kubelet would (engine {os.environ.get('DOCKER_HOST', 'default socket')}, "
        f"image {args.image}, renderer {args.helm or 'helm-python-sdk'})"
    )
    # SIGTERM to this script (CI's timeout) still runs the cleanups.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        check_expansion()
    except Failed as exc:
        log(f"pod_smoke: {exc}")
        return 1
    log(
        f"   $(VAR) expansion matches Kubernetes' own {len(EXPANSION_CASES)} test cases, and only earlier variables expand"
    )
    if args.prove_failures:
        ok = prove_failures(args)
        log(f"\n{'all broken variants failed as they must' if ok else 'a broken variant was not caught'}")
        return 0 if ok else 1
    results = [
        run_scenario(name, args, args.values, set(args.omit_object), args.edit)
        for name in (args.scenario or list(SCENARIOS))
    ]
    log("\n== summary")
    for result in results:
        print_result(result)
    passed = sum(r.ok for r in results)
    log(f"\npod smoke: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
