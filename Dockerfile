# syntax=docker/dockerfile:1
#
# The zpa-operator image: one static-ish Rust binary on distroless.
#
#   docker build -t REGISTRY/zpa-operator:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/zpa-operator:0.1.0 --push .
#
# The builder compiles only the `zpa-operator` binary (release profile: thin
# LTO, stripped); the final stage holds that binary and nothing else, runs as
# the distroless `nonroot` user (65532:65532) and starts `zpa-operator run`.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# The build context is trimmed by .dockerignore to the workspace manifests,
# src/ and crates/.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --package zpa-operator --bin zpa-operator \
 && install -D -m 0755 target/release/zpa-operator /out/zpa-operator

# glibc + libgcc + CA certificates (ZPA is reached over TLS with the system
# trust store), no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="zpa-operator" \
      org.opencontainers.image.description="Kubernetes operator for Zscaler Private Access Cloud Browser Isolation profiles and Microtenants" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/zpa-operator /zpa-operator
USER 65532:65532
# /metrics, /healthz, /readyz
EXPOSE 8080
ENTRYPOINT ["/zpa-operator"]
CMD ["run"]
