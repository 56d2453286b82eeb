# syntax=docker/dockerfile:1
# The control plane's image: a release build of vary-control-plane on distroless (glibc,
# CA certificates, no shell, no package manager), as user 65532.
#
#   docker build -f docker/control-plane.Dockerfile -t vary-control-plane:dev .
#
# The build needs no protoc (protox compiles the protos in Rust) and no system libraries
# (TLS is rustls with ring, which needs only the C compiler the builder image has). The
# cache mounts keep the registry and target dir between builds (BuildKit).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p vary-control-plane --bin vary-control-plane \
    && install -D -m 0555 target/release/vary-control-plane /out/vary-control-plane

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/vary-control-plane /usr/local/bin/vary-control-plane
# In a container the listeners must bind every address to be reachable at all; the
# Kubernetes manifests set these explicitly too.
ENV VARY_LISTEN_ADDR=0.0.0.0:7070 \
    VARY_METRICS_ADDR=0.0.0.0:9090 \
    VARY_LOG_FORMAT=json
USER 65532:65532
EXPOSE 7070 9090
ENTRYPOINT ["/usr/local/bin/vary-control-plane"]
CMD ["serve"]
