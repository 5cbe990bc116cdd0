# syntax=docker/dockerfile:1
#
# One image per controller, from one build stage:
#
#   docker build --target source-controller -t ghcr.io/eddy-gitops/source-controller:v0.1.0 .
#
# Targets: source-controller, kustomize-controller, helm-controller, notification-controller,
# image-reflector-controller, image-automation-controller. The names and tags match
# config/default/kustomization.yaml.
#
# The binaries are linked statically against musl (OpenSSL, libssh2 and zlib included, for
# git2's HTTPS and SSH transports), so the final images hold nothing but the binary, CA
# certificates and a non-root user.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
RUN apk add --no-cache musl-dev pkgconf perl make cmake \
        openssl-dev openssl-libs-static zlib-dev zlib-static libssh2-dev libssh2-static
# Link the C libraries statically; the Rust target's default on musl is static already.
ENV OPENSSL_STATIC=1 \
    LIBSSH2_STATIC=1 \
    LIBZ_SYS_STATIC=1 \
    PKG_CONFIG_ALL_STATIC=1
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        --bin source-controller \
        --bin kustomize-controller \
        --bin helm-controller \
        --bin notification-controller \
        --bin image-reflector-controller \
        --bin image-automation-controller \
    && mkdir -p /out \
    && cp target/release/source-controller target/release/kustomize-controller \
          target/release/helm-controller target/release/notification-controller \
          target/release/image-reflector-controller target/release/image-automation-controller \
          /out/

# Every controller image starts from this: no shell, no package manager, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot AS base
USER 65532:65532

FROM base AS source-controller
COPY --from=build /out/source-controller /usr/local/bin/source-controller
ENTRYPOINT ["/usr/local/bin/source-controller"]

FROM base AS kustomize-controller
COPY --from=build /out/kustomize-controller /usr/local/bin/kustomize-controller
ENTRYPOINT ["/usr/local/bin/kustomize-controller"]

FROM base AS helm-controller
COPY --from=build /out/helm-controller /usr/local/bin/helm-controller
ENTRYPOINT ["/usr/local/bin/helm-controller"]

FROM base AS notification-controller
COPY --from=build /out/notification-controller /usr/local/bin/notification-controller
ENTRYPOINT ["/usr/local/bin/notification-controller"]

FROM base AS image-reflector-controller
COPY --from=build /out/image-reflector-controller /usr/local/bin/image-reflector-controller
ENTRYPOINT ["/usr/local/bin/image-reflector-controller"]

FROM base AS image-automation-controller
COPY --from=build /out/image-automation-controller /usr/local/bin/image-automation-controller
ENTRYPOINT ["/usr/local/bin/image-automation-controller"]
