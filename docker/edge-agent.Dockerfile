# syntax=docker/dockerfile:1
# The edge agent's image: a release build of vary-edge-agent on distroless (glibc, CA
# certificates, no shell, no package manager), as user 65532.
#
#   docker build -f docker/edge-agent.Dockerfile -t vary-edge-agent:dev .
#
# See docker/control-plane.Dockerfile for why the build needs nothing beyond the builder.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p vary-edge-agent --bin vary-edge-agent \
    && install -D -m 0555 target/release/vary-edge-agent /out/vary-edge-agent \
    && install -d -m 0750 /out/state

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/vary-edge-agent /usr/local/bin/vary-edge-agent
# The state dir (last-known-good file, event spool), owned by the runtime user so the
# image works without a volume too; Kubernetes mounts an emptyDir here.
COPY --from=build --chown=65532:65532 /out/state /var/lib/vary-agent
ENV VARY_LISTEN_ADDR=0.0.0.0:7171 \
    VARY_METRICS_ADDR=0.0.0.0:9191 \
    VARY_STATE_DIR=/var/lib/vary-agent \
    VARY_LOG_FORMAT=json
USER 65532:65532
EXPOSE 7171 9191
ENTRYPOINT ["/usr/local/bin/vary-edge-agent"]
