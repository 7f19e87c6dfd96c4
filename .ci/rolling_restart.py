#!/usr/bin/env python3
"""Two gateway replicas and one Redis through a rolling restart: no refund is lost, none is doubled.

README "Exactly once across replicas" promises that a request_id runs at most once whichever
replica a retry reaches, across restarts and rolling deploys; the Helm chart promises a drain on
SIGTERM and exit 0. The specs prove each piece in-process; this script proves them together, with
the image under test, configured by the rendered chart:

- **Redis**: Debian's `redis-server` as a process (127.0.0.1, a free port, a random password),
  with `appendonly yes` and `maxmemory-policy noeviction` as the README demands (checked with
  CONFIG GET). A process and not a container: Redis is not under test, CI installs the same
  package for the specs anyway, and a container would need a derived image (apt inside a build)
  for no gain in realism; with host networking both are reached the same way.
- **The simulator**: the standalone `tco-simulator` binary (`--simulator PATH`) as a process, on
  a free port, behind a small HTTP relay in this script. The relay forwards every request; every
  `--lose-every`-th refund_invoice it forwards (the refund lands), then answers 502 instead of
  the simulator's answer: the "answer lost" case, which the gateway must report as
  OUTCOME_UNKNOWN and which only the shared record makes safe to retry on the other replica.
  Without it the run proves little: a graceful drain finishes every call it accepted, so every
  failure a restart causes is UNAVAILABLE before anything was sent, and even the broken setups
  below then show 0 double refunds (measured: `--breakage no-redis --lose-every 0` passes).
  The standalone simulator has no fault-injection endpoint, hence the relay.
- **Two gateways**: containers of `--image` (default `tco-gateway:dev`), `--network host` (the
  engine CI starts has no bridge; every container port is a host port), configured as the chart
  configures a pod: the chart is rendered (helm-python-sdk, Helm's engine as a library, like
  `.ci/helm_checks.py`; or `--helm PATH`, a helm binary's `helm template`) once per replica with
  `.ci/rolling-restart/values.yaml` plus that replica's free ports, and the Deployment's container
  becomes `docker create` arguments: env from the rendered ConfigMap (envFrom) and Secret
  (secretKeyRef), fieldRefs and `$(VAR)` references resolved; the rendered volumes (the TLS
  Secret made with scripts/demo-ca.sh, the policy ConfigMap) as read-only bind mounts with the
  rendered file modes and group fsGroup; the security context (user, read-only root fs, no
  capabilities, no privilege escalation) and the resource limits. Probes and the rest of the
  kubelet are `.ci/pod_smoke.py`'s job, not this script's: health is polled only to know when a
  replica is back (the readiness probe's service, on the health port), and the rendered
  terminationGracePeriodSeconds only bounds the wait for an exit.

Then, through the gateways over mTLS (the demo client certificate), `--workers` sales are
authorized (one per worker, so a refund never races another on its sale) and each worker sends a
steady stream of partial refunds, each a fresh request_id with a comment carrying it, alternating
replicas, each call with a deadline. A failed or unknown call (UNAVAILABLE, DEADLINE_EXCEEDED,
ABORTED, ...) is retried with the same request_id and body on the other replica, with backoff,
until it settles or a bound is hit. Meanwhile each replica in turn gets `docker kill --signal
TERM`, must exit 0, is started again (same container, same configuration) and must report
SERVING before the next one goes, and writes must have been acknowledged (by the other replica)
meanwhile; `--rounds` rounds (default 2: each replica restarted twice).

At the end each sale is read straight from the simulator (detail_sale) and every refund comment
is attributed to its request id. Printed: writes attempted, refunds landed upstream, double
refunds (a request id with more than one refund), writes that failed without a successful retry,
writes acknowledged but not upstream, refunds with an id never sent, restarts and exit codes.
Exit status 1 when any of those must-be-zero numbers is not zero, the refund comments and refund
lines upstream disagree, a restart exited non-zero, or a secret reached a log.

It can fail, on purpose: `--breakage no-redis` renders the chart without Redis (each replica its
own in-memory store: a retry of a lost answer on the other replica sends the refund again) and
`--breakage fresh-id` retries with a new request_id (the shared record cannot recognise it):
both must report double refunds > 0 and exit 1. `--breakage no-retry` gives up at the first
failure (writes failed without a successful retry > 0) and `--breakage sigkill` restarts with
SIGKILL instead of SIGTERM (exit code 137, no drain; writes cut mid-flight are then taken over
once their lease expires): both must exit 1 too.

Needs: docker (DOCKER_HOST as usual), redis-server, openssl (scripts/demo-ca.sh), Python 3.11
with .ci/rolling-restart/requirements.txt. Cleans up its containers, processes and temporary
directory on success and failure. Never prints a secret (API password, private key, Redis URL).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import http.server
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "tco-gateway"
OVERLAY = Path(__file__).resolve().parent / "rolling-restart" / "values.yaml"
RELEASE = "tco-gateway"
NAMESPACE = "payments"
TLS_SECRET = "rolling-restart-tls"

# The simulator's demo account (crates/tco-simulator/src/main.rs). Public demo values, but treated
# as secrets all the same: never printed, and their absence from every log is checked.
SIM_USER, SIM_PASSWORD = "sim-api-user", "sim-api-pass"
SELLER_ID = "901248156"
PRIVATE_KEY = "3508079E-5383-44D4-BF69-DC619C0D9811"
PUBLISHABLE_KEY = "E4D7B3C1-5A19-4C1F-8E92-6B1D2A7F0C33"
CLIENT_IDENTITY_FILES = ("example-client.crt", "example-client.key")
# Everything that must never be printed or logged; the Redis password is added when it is made.
SECRETS = [SIM_PASSWORD, PRIVATE_KEY, "PRIVATE KEY"]

COMMENT_PREFIX = "rolling-restart write "
CALL_DEADLINE = 3.0  # seconds per gRPC call: far above a simulator round trip, far below the run
RETRY_BUDGET = 45.0  # seconds a write may keep retrying before it counts as failed
RETRY_ATTEMPTS = 30
HEALTH_BOUND = 60.0  # seconds a (re)started replica may take to report SERVING
ERROR_DOMAIN = "tco-gateway.twocheckout.v1"
# Codes after which the same request may be sent again; anything else is a refusal, a bug here.
RETRYABLE = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "CANCELLED", "UNKNOWN", "RESOURCE_EXHAUSTED"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failure(Exception):
    """A step that cannot go on; its message names what failed."""


def redact(text: str) -> str:
    """A tool's error output without any secret (helm may quote a value, e.g. the Redis URL)."""
    for secret in SECRETS:
        text = text.replace(secret, "(secret)")
    return text


def free_port() -> int:
    """A port nothing listens on right now (bound, read back, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


# ---------------------------------------------------------------------------------------------
# Redis and the simulator (processes)


def redis_command(port: int, password: str, *args: str) -> Any:
    """One RESP command on a fresh connection; returns the decoded reply (enough for PING and
    CONFIG GET; no redis library needed)."""
    parts = ("AUTH", password) if password else None
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        f = s.makefile("rwb")
        for command in ([parts] if parts else []) + [args]:
            f.write(f"*{len(command)}\r\n".encode())
            for a in command:
                f.write(f"${len(a.encode())}\r\n{a}\r\n".encode())
        f.flush()

        def read() -> Any:
            line = f.readline().decode().rstrip("\r\n")
            kind, rest = line[:1], line[1:]
            if kind == "+":
                return rest
            if kind == "-":
                raise Failure(f"redis answered an error to {args[0]}: {rest}")
            if kind == ":":
                return int(rest)
            if kind == "$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2].decode()
            if kind == "*":
                return [read() for _ in range(int(rest))]
            raise Failure(f"unexpected reply from redis: {line!r}")

        if parts:
            read()
        return read()


def start_redis(work: Path, procs: list[subprocess.Popen]) -> tuple[int, str]:
    """redis-server as the README wants it; returns (port, password)."""
    if not shutil.which("redis-server"):
        raise Failure("redis-server is not installed (Debian: apt-get install redis-server)")
    port, password = free_port(), secrets.token_hex(16)
    SECRETS.append(password)
    data = work / "redis"
    data.mkdir()
    conf = data / "redis.conf"
    # The password only in a 0600 file, never on a command line (ps would show it).
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\nrequirepass {password}\ndir {data}\n"
        "appendonly yes\nappendfsync everysec\nmaxmemory 256mb\nmaxmemory-policy noeviction\n"
        "save \"\"\ndaemonize no\nlogfile redis.log\n")
    conf.chmod(0o600)
    procs.append(subprocess.Popen(["redis-server", str(conf)], cwd=data,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 20
    while True:
        try:
            if redis_command(port, password, "PING") == "PONG":
                break
        except (OSError, Failure):
            if time.monotonic() > deadline or procs[-1].poll() is not None:
                raise Failure(f"redis-server did not answer PING on 127.0.0.1:{port} (see {data}/redis.log)")
            time.sleep(0.1)
    for name, want in (("appendonly", "yes"), ("maxmemory-policy", "noeviction")):
        got = redis_command(port, password, "CONFIG", "GET", name)
        if got != [name, want]:
            raise Failure(f"redis {name} is {got!r}, the README demands {want}")
    return port, password


def start_simulator(binary: Path, work: Path, procs: list[subprocess.Popen]) -> int:
    """The standalone simulator on a free port (it logs the address it bound)."""
    if not os.access(binary, os.X_OK):
        raise Failure(f"--simulator {binary} is not an executable")
    out = (work / "simulator.log").open("w")
    env = {**os.environ, "TCO_SIM_ADDR": "127.0.0.1:0", "RUST_LOG": "info"}
    procs.append(subprocess.Popen([str(binary)], env=env, stdout=out, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"listen_addr=127\.0\.0\.1:(\d+)", (work / "simulator.log").read_text())
        if found:
            return int(found.group(1))
        if procs[-1].poll() is not None:
            break
        time.sleep(0.05)
    raise Failure(f"the simulator did not report its address (see {work}/simulator.log)")


class Relay(http.server.ThreadingHTTPServer):
    """HTTP/1.1 relay in front of the simulator that loses every n-th refund_invoice answer
    after the refund landed (502 instead), the way a broken connection or a proxy's error page
    hides an applied write from the gateway."""

    daemon_threads = True

    def __init__(self, upstream_port: int, lose_every: int):
        super().__init__(("127.0.0.1", 0), RelayHandler)
        self.upstream_port = upstream_port
        self.lose_every = lose_every
        self.lock = threading.Lock()
        self.refunds_relayed = 0
        self.answers_lost = 0

    def lose_this_one(self, path: str) -> bool:
        if not path.split("?")[0].endswith("/sales/refund_invoice"):
            return False
        with self.lock:
            self.refunds_relayed += 1
            lose = self.lose_every > 0 and self.refunds_relayed % self.lose_every == 0
            self.answers_lost += lose
            return lose


class RelayHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:  # quiet: the requests carry credentials
        pass

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:-2]
                if size == 0:
                    return body
                body += chunk
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def relay(self) -> None:
        server: Relay = self.server  # type: ignore[assignment]
        body = self.read_body()
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "transfer-encoding", "content-length", "keep-alive")}
        upstream = http.client.HTTPConnection("127.0.0.1", server.upstream_port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body if body or self.command != "GET" else None,
                             headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            status, answer_headers = answer.status, answer.getheaders()
        finally:
            upstream.close()
        if server.lose_this_one(self.path):
            status, payload = 502, b"<html><body>502 Bad Gateway (answer lost on purpose)</body></html>"
            answer_headers = [("Content-Type", "text/html")]
        self.send_response(status)
        for k, v in answer_headers:
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = relay


def sale_detail(sim_port: int, sale_id: str) -> dict[str, Any]:
    """detail_sale straight from the simulator (not through the relay, not through a gateway)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{sim_port}/api/sales/detail_sale?sale_id={sale_id}",
        headers={"Accept": "application/json",
                 "Authorization": "Basic " + base64.b64encode(f"{SIM_USER}:{SIM_PASSWORD}".encode()).decode()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["sale"]


def card_token(sim_port: int) -> str:
    """A single-use card token from the simulator's 2co.js stand-in (what a browser would get)."""
    body = json.dumps({"sellerId": SELLER_ID, "publishableKey": PUBLISHABLE_KEY, "ccNo": "4000000000000002",
                       "expMonth": "12", "expYear": "2030", "cvv": "123"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{sim_port}/checkout/api/1/{SELLER_ID}/rs/tokenService",
                                 data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["response"]["token"]["token"]


# ---------------------------------------------------------------------------------------------
# The chart, rendered, turned into a container


def overlay_values(substitutions: dict[str, Any]) -> dict[str, Any]:
    text = string.Template(OVERLAY.read_text()).substitute({k: str(v) for k, v in substitutions.items()})
    return yaml.safe_load(text)


def render_chart(values: dict[str, Any], helm_binary: str | None, work: Path) -> list[dict[str, Any]]:
    """Every rendered object. The values hold secrets: with a helm binary they go through a
    0600 file, never the command line."""
    if helm_binary:
        values_file = work / f"values-{uuid.uuid4().hex[:8]}.yaml"
        values_file.write_text(yaml.safe_dump(values))
        values_file.chmod(0o600)
        try:
            out = run([helm_binary, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
                       "--values", str(values_file)]).stdout
        except subprocess.CalledProcessError as exc:
            raise Failure(f"helm template failed: {redact(exc.stderr.strip())}") from None
        finally:
            values_file.unlink()
        texts = [out]
    else:
        import helm_python as helm

        with helm.Chart.load(CHART) as chart:
            manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        texts = [t for path, t in sorted(manifests.items()) if path.endswith(".yaml")]
    return [doc for t in texts for doc in yaml.safe_load_all(t) if doc]


def find(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(hits) != 1:
        raise Failure(f"the rendered chart has {len(hits)} {kind} objects named {name or '(any)'}, expected 1")
    return hits[0]


def secret_data(objs: list[dict[str, Any]], name: str) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in find(objs, "Secret", name).get("data", {}).items()}


def expand_refs(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of earlier variables (unknown ones stay as written)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)


@dataclass
class Replica:
    index: int
    name: str  # container name
    grpc_port: int
    health_port: int
    ready_service: str
    grace_seconds: int
    docker_args: list[str]
    env_file: Path
    restarts: list[int] = field(default_factory=list)  # exit codes, one per SIGTERM


def pod_to_container(objs: list[dict[str, Any]], index: int, name: str, tls_dir: Path, work: Path,
                     image: str) -> Replica:
    """The Deployment's container as `docker create` arguments (a minimal kubelet: env, mounts,
    security context, limits)."""
    deployment = find(objs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "gateway"]
    pod_name = f"{RELEASE}-rolling-{index}"

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(objs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand_refs(str(var["value"]), env)
            continue
        ref = var["valueFrom"]
        if "secretKeyRef" in ref:
            key_ref = ref["secretKeyRef"]
            data = secret_data(objs, key_ref["name"])
            if key_ref["key"] not in data:
                raise Failure(f"{var['name']}: key {key_ref['key']} is not in Secret {key_ref['name']}")
            env[var["name"]] = data[key_ref["key"]]
        elif "fieldRef" in ref:
            env[var["name"]] = {"metadata.name": pod_name, "metadata.namespace": NAMESPACE,
                                "spec.nodeName": socket.gethostname()}[ref["fieldRef"]["fieldPath"]]
        else:
            raise Failure(f"{var['name']}: valueFrom {sorted(ref)} is not handled here")
    for k, v in env.items():
        if "\n" in v:
            raise Failure(f"{k} holds a newline: docker --env-file cannot carry it")
    env_file = work / f"{name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)

    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    fs_group = pod.get("securityContext", {}).get("fsGroup")
    args = ["--name", name, "--network", "host", "--env-file", str(env_file),
            "--user", f"{security['runAsUser']}:{security['runAsGroup']}"]
    if fs_group is not None:
        args += ["--group-add", str(fs_group)]
    if security.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if "ALL" in security.get("capabilities", {}).get("drop", []):
        args += ["--cap-drop", "ALL"]
    if security.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", str(limits["memory"]).replace("Mi", "m").replace("Gi", "g")]
    if "cpu" in limits:
        cpu = str(limits["cpu"])
        args += ["--cpus", str(int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu))]

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        if mount.get("subPath") or not mount.get("readOnly"):
            raise Failure(f"volume {mount['name']}: only read-only whole-volume mounts are handled")
        host_dir = work / "volumes" / name / mount["name"]
        materialize_volume(volumes[mount["name"]], objs, host_dir, tls_dir, fs_group)
        args += ["--volume", f"{host_dir}:{mount['mountPath']}:ro"]

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe = container["readinessProbe"]["grpc"]
    if probe["port"] != ports["health"]:
        raise Failure(f"the readiness probe asks port {probe['port']}, the health port is {ports['health']}")
    return Replica(index=index, name=name, grpc_port=ports["grpc"], health_port=ports["health"],
                   ready_service=probe.get("service", ""),
                   grace_seconds=int(pod["terminationGracePeriodSeconds"]),
                   docker_args=args + [image], env_file=env_file)


def materialize_volume(volume: dict[str, Any], objs: list[dict[str, Any]], host_dir: Path, tls_dir: Path,
                       fs_group: int | None) -> None:
    """A Secret or ConfigMap volume as files in a directory, with its items, mode and group."""
    host_dir.mkdir(parents=True)
    if "secret" in volume:
        source = volume["secret"]
        if source["secretName"] == TLS_SECRET:
            # The kubernetes.io/tls Secret an operator creates (README "Deploying"), from demo-ca.sh.
            data = {"tls.crt": (tls_dir / "server.crt").read_text(), "tls.key": (tls_dir / "server.key").read_text(),
                    "ca.crt": (tls_dir / "ca.crt").read_text()}
        else:
            data = secret_data(objs, source["secretName"])
    elif "configMap" in volume:
        source = volume["configMap"]
        data = find(objs, "ConfigMap", source["name"])["data"]
    else:
        raise Failure(f"volume {volume['name']}: only secret and configMap volumes are handled")
    items = source.get("items") or [{"key": k, "path": k} for k in data]
    mode = source.get("defaultMode", 0o644)
    for item in items:
        path = host_dir / item["path"]
        path.write_text(data[item["key"]])
        path.chmod(item.get("mode", mode))
        if fs_group is not None:
            os.chown(path, -1, fs_group)
    host_dir.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Containers


def docker(*args: str, timeout: float = 60) -> str:
    try:
        return run(["docker", *args], timeout=timeout).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise Failure(f"docker {' '.join(args[:2])} failed: {redact(exc.stderr.strip())}") from None


def health(port: int, service: str) -> int | None:
    """grpc.health.v1 Check on the plaintext health port: the status number, None if no answer."""
    import grpc

    name = service.encode()
    request = b"\x0a" + bytes([len(name)]) + name if name else b""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            answer = check(request, timeout=1.0)
        except grpc.RpcError:
            return None
    return answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0


def container_log(name: str) -> str:
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    return logs.stdout + logs.stderr


def print_log_tail(name: str, needles: list[str]) -> None:
    """The end of a container's log, for a failure message; lines holding a secret are withheld."""
    print(f"--- last lines of {name}'s log", file=sys.stderr)
    for line in container_log(name).splitlines()[-20:]:
        print(line if not any(n and n in line for n in needles) else "(a line holding a secret, withheld)",
              file=sys.stderr)


def wait_serving(replica: Replica) -> float:
    """Seconds until the replica reports SERVING for its readiness service (bounded)."""
    started = time.monotonic()
    while health(replica.health_port, replica.ready_service) != 1:
        state = docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", replica.name)
        if not state.startswith("running"):
            print_log_tail(replica.name, SECRETS)
            raise Failure(f"{replica.name} is {state} (status, exit code) instead of starting")
        if time.monotonic() - started > HEALTH_BOUND:
            print_log_tail(replica.name, SECRETS)
            raise Failure(f"{replica.name} not SERVING for {replica.ready_service!r} within {HEALTH_BOUND:.0f}s")
        time.sleep(0.1)
    return time.monotonic() - started


def restart(replica: Replica, sig: str) -> None:
    """SIGTERM (what the kubelet sends), wait for the exit (its code recorded), start the same
    container again, wait for SERVING."""
    log(f"SIG{sig} {replica.name}")
    docker("kill", "--signal", sig, replica.name)
    try:
        code = int(docker("wait", replica.name, timeout=replica.grace_seconds + 30))
    except subprocess.TimeoutExpired:
        docker("kill", replica.name)
        raise Failure(f"{replica.name} did not exit within its grace period ({replica.grace_seconds}s)") from None
    replica.restarts.append(code)
    log(f"{replica.name} exited with code {code}; starting it again")
    docker("start", replica.name)
    log(f"{replica.name} SERVING again after {wait_serving(replica):.1f}s")


# ---------------------------------------------------------------------------------------------
# The client


def load_stubs(work: Path) -> Any:
    """Stubs generated from proto/ now, like clients/python/run.sh (never committed)."""
    import grpc_tools
    from grpc_tools import protoc

    gen = work / "gen"
    gen.mkdir()
    proto = ROOT / "proto"
    # The well-known types (google/protobuf/*.proto) ship inside grpcio-tools.
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p) for p in (proto / "twocheckout" / "v1").glob("*.proto"))
    if protoc.main(["protoc", f"-I{proto}", f"-I{well_known}", f"--python_out={gen}", f"--grpc_python_out={gen}",
                    *files]):
        raise Failure("protoc could not generate the Python stubs from proto/")
    sys.path.insert(0, str(gen))
    from twocheckout.v1 import authorization_service_pb2 as auth_pb2
    from twocheckout.v1 import authorization_service_pb2_grpc as auth_grpc
    from twocheckout.v1 import sales_service_pb2 as sales_pb2
    from twocheckout.v1 import sales_service_pb2_grpc as sales_grpc

    return auth_pb2, auth_grpc, sales_pb2, sales_grpc


def reason_of(err: Any) -> str:
    """The ErrorInfo reason of a gRPC error ("" if none)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(err)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == ERROR_DOMAIN:
                return info.reason
    return ""


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)  # write id -> what happened
    attempts: int = 0
    retry_causes: dict[str, int] = field(default_factory=dict)
    crash: str | None = None  # a worker's unexpected exception

    def acknowledged(self) -> int:
        with self.lock:
            return sum(1 for r in self.writes.values() if r["acknowledged"])

    def note_retry(self, cause: str) -> None:
        with self.lock:
            self.retry_causes[cause] = self.retry_causes.get(cause, 0) + 1


class Client:
    def __init__(self, stubs: Any, replicas: list[Replica], tls_dir: Path, breakage: str):
        import grpc

        self.grpc = grpc
        self.auth_pb2, auth_grpc, self.sales_pb2, sales_grpc = stubs
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(tls_dir / "ca.crt").read_bytes(),
            private_key=(tls_dir / CLIENT_IDENTITY_FILES[1]).read_bytes(),
            certificate_chain=(tls_dir / CLIENT_IDENTITY_FILES[0]).read_bytes())
        # Quick reconnects: a restarted replica is back within a second or two.
        options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 500)]
        self.channels = [grpc.secure_channel(f"localhost:{r.grpc_port}", credentials, options=options)
                         for r in replicas]
        self.sales = [sales_grpc.SalesServiceStub(c) for c in self.channels]
        self.authz = [auth_grpc.AuthorizationServiceStub(c) for c in self.channels]
        self.breakage = breakage

    def close(self) -> None:
        for c in self.channels:
            c.close()

    def authorize(self, sim_port: int, replica: int) -> str:
        """A fresh 5,000.00 USD sale to refund from (the seeded ones hold only a few dollars)."""
        p = self.auth_pb2
        request = p.AuthorizeRequest(
            request_id=str(uuid.uuid4()), merchant_order_id=f"rolling-{uuid.uuid4().hex[:12]}",
            token=card_token(sim_port), currency=p.CURRENCY_USD, total="5000.00",
            billing_address=p.BillingAddress(name="Rolling Restart", address_line_1="123 Test St", city="Columbus",
                                             state="OH", zip_code="43123", country="USA",
                                             email="rolling@example.com", phone_number="5555555555"))
        for attempt in range(10):
            try:
                answer = self.authz[replica].Authorize(request, timeout=10)
                if answer.response_code != "APPROVED":
                    raise Failure(f"Authorize answered {answer.response_code!r}")
                return answer.order_number
            except self.grpc.RpcError as err:
                if err.code().name not in RETRYABLE or attempt == 9:
                    raise Failure(f"Authorize failed: {err.code().name} {reason_of(err)}: {err.details()}") from None
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def write(self, stats: Stats, sale_id: str, first_replica: int) -> None:
        """One logical refund: sent, and retried on the other replica until it settles."""
        write_id = str(uuid.uuid4())
        amount = f"0.{random.randint(1, 99):02d}"
        record = {"sale": sale_id, "amount": amount, "acknowledged": False, "attempts": 0, "last": ""}
        with stats.lock:
            stats.writes[write_id] = record
        request = self.sales_pb2.RefundInvoiceRequest(
            request_id=write_id, sale_id=sale_id, amount=amount, currency=self.sales_pb2.REFUND_CURRENCY_USD,
            comment=f"{COMMENT_PREFIX}{write_id}", category=self.sales_pb2.REFUND_CATEGORY_DID_NOT_LIKE_ITEM)
        replica, backoff, started = first_replica, 0.05, time.monotonic()
        while True:
            record["attempts"] += 1
            with stats.lock:
                stats.attempts += 1
            try:
                self.sales[replica].RefundInvoice(request, timeout=CALL_DEADLINE)
                record["acknowledged"] = True
                return
            except self.grpc.RpcError as err:
                code, reason = err.code().name, reason_of(err)
                record["last"] = f"{code} {reason}".strip()
                if code not in RETRYABLE:
                    record["last"] += f": {err.details()}"
                    return
                stats.note_retry(record["last"])
            if record["attempts"] >= RETRY_ATTEMPTS or time.monotonic() - started > RETRY_BUDGET:
                return
            if self.breakage == "no-retry":
                # The breakage: a client that gives up at the first failure loses writes.
                return
            # The same request on the other replica, as a client-side balancer would send it.
            replica = 1 - replica
            if self.breakage == "fresh-id":
                # The breakage: the retry is a new request as far as any store can tell.
                request.request_id = str(uuid.uuid4())
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)


def stream(client: Client, stats: Stats, sale_id: str, worker: int, stop: threading.Event) -> None:
    """Back-to-back refunds on one sale, alternating replicas."""
    k = worker
    try:
        while not stop.is_set():
            client.write(stats, sale_id, k % 2)
            k += 1
    except Exception as exc:  # noqa: BLE001 - reported as a failure of the run
        stats.crash = f"writer {worker} crashed: {exc!r}"


# ---------------------------------------------------------------------------------------------
# The verdict


def attribute(sim_port: int, sales: list[str], stats: Stats) -> dict[str, Any]:
    """Refunds upstream, attributed to write ids by their comment, checked against refund lines."""
    landed: dict[str, int] = {}
    refund_lines = comments = 0
    for sale_id in sales:
        sale = sale_detail(sim_port, sale_id)
        for c in sale.get("comments") or []:
            found = re.search(re.escape(COMMENT_PREFIX) + r"([0-9a-f-]{36})", c.get("comment") or "")
            if found:
                comments += 1
                landed[found.group(1)] = landed.get(found.group(1), 0) + 1
        for invoice in sale.get("invoices") or []:
            refund_lines += sum(1 for li in invoice.get("lineitems") or [] if li.get("status") == "refund")
    unknown = set(landed) - set(stats.writes)
    return {"landed": landed, "comments": comments, "refund_lines": refund_lines, "unknown": unknown}


def scan_logs(logs: dict[str, str]) -> list[str]:
    """Which logs a secret reached (their names only, never the secret)."""
    return [name for name, text in logs.items() if any(n in text for n in SECRETS)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="tco-gateway:dev", help="the gateway image under test")
    parser.add_argument("--simulator", required=True, type=Path, help="the tco-simulator binary")
    parser.add_argument("--helm", help="render with this helm binary (helm template) instead of helm-python-sdk")
    parser.add_argument("--rounds", type=int, default=2, help="restart rounds (each restarts both replicas)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent write streams (one sale each)")
    parser.add_argument("--lose-every", type=int, default=8,
                        help="the relay loses every n-th refund_invoice answer after it landed (0: none)")
    parser.add_argument("--breakage", choices=("none", "no-redis", "fresh-id", "no-retry", "sigkill"), default="none",
                        help="break the setup on purpose, to see the check fail")
    args = parser.parse_args()
    started = time.monotonic()
    # A CI timeout's SIGTERM must still remove the containers and stop the processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="tco-rolling-") as tmp, contextlib.ExitStack() as cleanup:
        work = Path(tmp)
        work.chmod(0o755)  # the volumes under it are read by uid 10001 in the containers
        procs: list[subprocess.Popen] = []
        containers: list[str] = []

        def stop_everything() -> None:
            for name in containers:
                subprocess.run(["docker", "rm", "--force", name], capture_output=True)
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

        cleanup.callback(stop_everything)
        try:
            return scenario(args, work, procs, containers, cleanup, started)
        except Failure as exc:
            print(f"rolling restart: FAILED: {exc}", file=sys.stderr, flush=True)
            return 1


def scenario(args: argparse.Namespace, work: Path, procs: list[subprocess.Popen], containers: list[str],
             cleanup: contextlib.ExitStack, started: float) -> int:
    docker("image", "inspect", "--format", "{{.Id}}", args.image)
    tls_dir = work / "tls"
    try:
        run(["bash", str(ROOT / "scripts" / "demo-ca.sh"), str(tls_dir)])
    except subprocess.CalledProcessError as exc:
        raise Failure(f"scripts/demo-ca.sh failed: {exc.stderr.strip()}") from None

    redis_port, redis_password = (0, "")
    if args.breakage != "no-redis":
        redis_port, redis_password = start_redis(work, procs)
        log(f"redis-server on 127.0.0.1:{redis_port} (appendonly yes, maxmemory-policy noeviction, a password)")
    sim_port = start_simulator(args.simulator, work, procs)
    relay = Relay(sim_port, args.lose_every)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    cleanup.callback(relay.shutdown)
    log(f"simulator on 127.0.0.1:{sim_port}, relay on 127.0.0.1:{relay.server_address[1]} "
        f"(loses every {args.lose_every}th refund_invoice answer after it landed)")

    stubs = load_stubs(work)
    replicas = []
    prefix = f"tco-roll-{os.getpid()}"
    for i in range(2):
        relay_url = f"http://127.0.0.1:{relay.server_address[1]}"
        values = overlay_values({
            "REDIS_URL": f"redis://:{redis_password}@127.0.0.1:{redis_port}/0" if redis_port else "",
            "ALLOW_PER_REPLICA_STATE": "true" if args.breakage == "no-redis" else "false",
            "GRPC_PORT": free_port(), "HEALTH_PORT": free_port(), "METRICS_PORT": free_port(),
            "ADMIN_API_BASE_URL": f"{relay_url}/api/", "PAYMENT_API_BASE_URL": f"{relay_url}/checkout/api/1/",
            "ADMIN_API_USERNAME": SIM_USER, "ADMIN_API_PASSWORD": SIM_PASSWORD,
            "PAYMENT_API_SELLER_ID": SELLER_ID, "PAYMENT_API_PRIVATE_KEY": PRIVATE_KEY})
        objs = render_chart(values, args.helm, work)
        replica = pod_to_container(objs, i, f"{prefix}-gw{i}", tls_dir, work, args.image)
        env_names = set(line.split("=", 1)[0] for line in replica.env_file.read_text().splitlines())
        if ("TCO_REDIS__URL" in env_names) != (args.breakage != "no-redis"):
            raise Failure(f"TCO_REDIS__URL {'missing from' if redis_port else 'present in'} the rendered pod")
        containers.append(replica.name)
        docker("create", *replica.docker_args)
        docker("start", replica.name)
        replicas.append(replica)
    for r in replicas:
        log(f"{r.name}: gRPC (mTLS) :{r.grpc_port}, health :{r.health_port}, SERVING after {wait_serving(r):.1f}s")

    client = Client(stubs, replicas, tls_dir, args.breakage)
    cleanup.callback(client.close)
    sales = [client.authorize(sim_port, w % 2) for w in range(args.workers)]
    log(f"authorized {len(sales)} sales of 5000.00 USD through the gateways: {', '.join(sales)}")

    stats, stop = Stats(), threading.Event()
    workers = [threading.Thread(target=stream, args=(client, stats, sale, w, stop), daemon=True)
               for w, sale in enumerate(sales)]
    for w in workers:
        w.start()
    restart_failure = None
    try:
        for round_no in range(1, args.rounds + 1):
            for r in replicas:
                # Writes flow on both replicas for a moment before each restart (observed, not assumed).
                target = len(stats.writes) + 20 * args.workers
                deadline = time.monotonic() + 20
                while len(stats.writes) < target and time.monotonic() < deadline:
                    time.sleep(0.05)
                log(f"round {round_no}: {len(stats.writes)} writes so far")
                before = stats.acknowledged()
                restart(r, "KILL" if args.breakage == "sigkill" else "TERM")
                # Writes must have kept settling (on the other replica) while this one was away.
                during = stats.acknowledged() - before
                log(f"{during} writes acknowledged while {r.name} was stopping and starting")
                if during == 0:
                    raise Failure(f"no write was acknowledged while {r.name} restarted")
        target = len(stats.writes) + 20 * args.workers
        deadline = time.monotonic() + 20
        while len(stats.writes) < target and time.monotonic() < deadline:
            time.sleep(0.05)
    except Failure as exc:
        restart_failure = f"a restart failed: {exc}"
    stop.set()
    for w in workers:
        w.join(timeout=RETRY_BUDGET + 2 * CALL_DEADLINE + 10)

    logs = {f"{r.name}'s log": container_log(r.name) for r in replicas}
    logs["the simulator's log"] = (work / "simulator.log").read_text(errors="replace")
    upstream = attribute(sim_port, sales, stats)
    return report(args, stats, upstream, replicas, relay, restart_failure or stats.crash, scan_logs(logs), started)


def report(args: argparse.Namespace, stats: Stats, upstream: dict[str, Any], replicas: list[Replica], relay: Relay,
           restart_failure: str | None, leaks: list[str], started: float) -> int:
    landed = upstream["landed"]
    writes = stats.writes
    doubles = {w: n for w, n in landed.items() if n > 1}
    failed = {w: r for w, r in writes.items() if not r["acknowledged"]}
    failed_not_landed = {w: r for w, r in failed.items() if w not in landed}
    acked_missing = [w for w, r in writes.items() if r["acknowledged"] and w not in landed]
    retried = sum(1 for r in writes.values() if r["attempts"] > 1)
    exit_codes = {r.name: r.restarts for r in replicas}
    restarts = sum(len(c) for c in exit_codes.values())
    bad_exits = {n: c for n, c in exit_codes.items() if any(x != 0 for x in c)}

    print()
    print(f"== rolling restart result (breakage: {args.breakage})")
    print(f"writes attempted (request ids):           {len(writes)}")
    print(f"  calls sent (first tries and retries):   {stats.attempts}")
    print(f"  writes retried:                         {retried}")
    for cause, n in sorted(stats.retry_causes.items(), key=lambda kv: -kv[1]):
        print(f"    failed calls, {cause}: {n}")
    print(f"  answers lost on purpose by the relay:   {relay.answers_lost} of {relay.refunds_relayed} refund_invoice")
    print(f"refunds landed upstream:                  {sum(landed.values())} "
          f"(for {len(landed)} request ids; {upstream['refund_lines']} refund lines on the sales)")
    print(f"double refunds (must be 0):               {len(doubles)}"
          + (f" request ids, {sum(doubles.values()) - len(doubles)} extra refunds" if doubles else ""))
    print(f"failed without a successful retry (must be 0): {len(failed)}"
          + (f" ({len(failed) - len(failed_not_landed)} of them landed anyway)" if failed else ""))
    print(f"acknowledged but not upstream (must be 0): {len(acked_missing)}")
    print(f"refunds upstream with an unknown id (must be 0): {len(upstream['unknown'])}")
    print(f"restarts done:                            {restarts} (rounds asked: {args.rounds}, "
          f"i.e. {2 * args.rounds})")
    print(f"exit codes after the signal:              {exit_codes}")
    print(f"run time:                                 {time.monotonic() - started:.0f}s")
    for w, n in list(doubles.items())[:5]:
        print(f"  double: {w} refunded {n} times (sale {writes[w]['sale']}, {writes[w]['amount']} USD, "
              f"{writes[w]['attempts']} attempts)")
    for w, r in list(failed.items())[:5]:
        print(f"  failed: {w} after {r['attempts']} attempts, last {r['last']}")

    problems = []
    if doubles:
        problems.append(f"{len(doubles)} double refunds")
    if failed:
        problems.append(f"{len(failed)} writes failed without a successful retry")
    if acked_missing:
        problems.append(f"{len(acked_missing)} acknowledged writes are not upstream")
    if upstream["unknown"]:
        problems.append(f"{len(upstream['unknown'])} refunds upstream carry an id never sent")
    if upstream["refund_lines"] != upstream["comments"]:
        problems.append(f"{upstream['comments']} refund comments but {upstream['refund_lines']} refund lines")
    if restart_failure:
        problems.append(restart_failure)
    if restarts < 2 * args.rounds:
        problems.append(f"only {restarts} of {2 * args.rounds} restarts done")
    if bad_exits:
        problems.append(f"non-zero exit after SIGTERM: {bad_exits}")
    if len(writes) == 0:
        problems.append("no write was sent")
    if leaks:
        problems.append(f"a secret reached {', '.join(leaks)}")
    if problems:
        print(f"rolling restart: FAILED: {'; '.join(problems)}", file=sys.stderr)
        return 1
    print("rolling restart: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
