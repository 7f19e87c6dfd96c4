# syntax=docker/dockerfile:1
# A small runtime image for tco-gateway: built in a full Rust image, run as a
# non-root user from a slim Debian with nothing but the binary. No secrets are
# baked in: every setting comes from TCO_* environment variables at run time
# (see README), credentials from a Kubernetes Secret.

FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them.
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

FROM debian:bookworm-slim AS runtime
# TLS roots are compiled in (rustls with webpki roots), so no ca-certificates
# package is needed; the user matches the Helm chart's runAsUser.
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /src/target/release/tco-gateway /usr/local/bin/tco-gateway
USER 10001:10001
# Every interface: the gateway then refuses to start without TLS (TCO_SERVER__TLS__CERT_FILE,
# _KEY_FILE) and a policy (TCO_AUTH__POLICY_FILE) unless TCO_SERVER__INSECURE=true says otherwise
# on purpose; the chart mounts both and points the probes at the plaintext health-only listener
# (TCO_SERVER__HEALTH_LISTEN_ADDR, 8081).
ENV TCO_SERVER__LISTEN_ADDR=0.0.0.0:50051 \
    TCO_LOG__FORMAT=json
# gRPC; 8081 the health-only listener, when configured; 9464 is the Prometheus scrape endpoint
# (when OTEL_METRICS_EXPORTER includes prometheus).
EXPOSE 50051 8081 9464
ENTRYPOINT ["/usr/local/bin/tco-gateway"]
