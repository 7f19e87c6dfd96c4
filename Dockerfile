# A small runtime image for tco-gateway: the binary, run as a non-root user (10001, the Helm
# chart's runAsUser) from a Debian bookworm base with nothing else added. No secrets are baked in:
# every setting comes from TCO_* environment variables at run time (see README), credentials
# from a Kubernetes Secret.
#
# Two ways to build it, one runtime:
#   docker build -t tco-gateway .
#       the default (last) stage, `runtime`: the gateway compiled in rust:1-bookworm, copied onto
#       debian:bookworm-slim. What a user runs; needs both images from a registry.
#   scripts/build-image.sh [--binary PATH] [--tag T]
#       the `release` stage: a binary built outside (`cargo build --release --no-default-features
#       --bin tco-gateway` on a glibc no newer than bookworm's), from a context that holds only it,
#       on RUNTIME_BASE (there: a bookworm made locally by scripts/container-engine.sh, since CI
#       reaches no registry). What CI builds and runs (.ci/image_smoke.py).
# Both stages are `runtime-base` plus the binary, so CI proves the user, environment, ports and
# entry point of either.
#
# The stage order matters to the classic builder (DOCKER_BUILDKIT=0, the default of Debian's
# docker.io 20.10), which builds every stage up to the one asked for: `release` comes before
# `build`, so building it never needs rust:1-bookworm. No `# syntax=` line: under BuildKit it
# would pull a frontend image, and nothing here needs a newer one than the builder's own.

ARG RUNTIME_BASE=debian:bookworm-slim

FROM ${RUNTIME_BASE} AS runtime-base
# TLS roots are compiled in (rustls with webpki roots), so no ca-certificates package is needed.
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gateway
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# Every interface: the gateway then refuses to start without TLS (TCO_SERVER__TLS__CERT_FILE,
# _KEY_FILE) and a policy (TCO_AUTH__POLICY_FILE) unless TCO_SERVER__INSECURE=true says otherwise
# on purpose; the chart mounts both and points the probes at the plaintext health-only listener
# (TCO_SERVER__HEALTH_LISTEN_ADDR, 8081).
ENV TCO_SERVER__LISTEN_ADDR=0.0.0.0:50051 \
    TCO_LOG__FORMAT=json
# gRPC; 8081 the health-only listener, when configured; 8082 the INS receiver, when configured
# (TCO_INS__LISTEN_ADDR=0.0.0.0:8082 and a secret word, as the chart sets them); 9464 is the
# Prometheus scrape endpoint (when OTEL_METRICS_EXPORTER includes prometheus).
EXPOSE 50051 8081 8082 9464
# No HEALTHCHECK: Kubernetes ignores it (the chart's gRPC probes do that job), and the image has
# no gRPC health client to run one with.
ENTRYPOINT ["/usr/local/bin/tco-gateway"]
# Set by scripts/build-image.sh (the crate's version, the commit); empty in a plain `docker build`.
# Declared here, not above: a build argument is part of the cache key of every RUN after it.
ARG RUNTIME_BASE
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="tco-gateway" \
      org.opencontainers.image.description="gRPC gateway to the 2Checkout (Verifone) legacy Admin and Payment APIs" \
      org.opencontainers.image.base.name="${RUNTIME_BASE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# The binary from scripts/build-image.sh's context, which holds nothing else. Under the classic
# builder this stage is also built (and thrown away) on the way to `runtime` from the source tree,
# where there is no such binary: the wildcards make the COPY match the Dockerfile there instead of
# failing, and the binary (only) in build-image.sh's context, whose Dockerfile lies outside it.
FROM scratch AS prebuilt
COPY tco-gateway* Dockerfil[e] /prebuilt/

FROM runtime-base AS release
COPY --from=prebuilt /prebuilt/ /usr/local/bin/

FROM rust:1-bookworm AS build
WORKDIR /src
# Only what the build reads (.dockerignore keeps the rest, tests and docs, out of the context).
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY benches benches
COPY src src
# The workspace's other member: its manifest is part of the workspace even when not built.
COPY crates crates
# Without the `simulator` feature: the chart always runs `upstream.mode=twocheckout`, so the
# built-in simulator (an HTTP server with well-known credentials serving fake data) would be
# dead weight in production at best; here it cannot start by mistake because it is not there.
RUN cargo build --release --locked --no-default-features --bin tco-gateway

FROM runtime-base AS runtime
COPY --from=build /src/target/release/tco-gateway /usr/local/bin/tco-gateway
