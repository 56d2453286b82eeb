# syntax=docker/dockerfile:1
# The control plane's image: a release build of vary-control-plane on distroless (glibc,
# CA certificates, no shell, no package manager), as user 65532, with the web console's
# files, which it serves at /console/ (VARY_CONSOLE_DIR; set it empty to serve none).
#
#   docker build -f docker/control-plane.Dockerfile -t vary-control-plane:dev .
#
# The build needs no protoc (protox compiles the protos in Rust) and no system libraries
# (TLS is rustls with ring, which needs only the C compiler the builder image has). The
# cache mounts keep the registry and target dir between builds (BuildKit).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20.20

# The web console's static files (console/dist), built from the protos and console/.
FROM node:${NODE_VERSION}-bookworm-slim AS console
WORKDIR /src/console
COPY proto /src/proto
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console ./
RUN npm run build

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
COPY --from=console /src/console/dist /usr/share/vary/console
# In a container the listeners must bind every address to be reachable at all; the
# Kubernetes manifests set these explicitly too.
ENV VARY_LISTEN_ADDR=0.0.0.0:7070 \
    VARY_METRICS_ADDR=0.0.0.0:9090 \
    VARY_LOG_FORMAT=json \
    VARY_CONSOLE_DIR=/usr/share/vary/console
USER 65532:65532
EXPOSE 7070 9090
ENTRYPOINT ["/usr/local/bin/vary-control-plane"]
CMD ["serve"]
