# syntax=docker/dockerfile:1
# The ecs-bluegreen image: one static binary on a small base that still has
# /bin/sh, because GitLab runs a job's script through a shell in the job image.
# Both bases are pinned by digest (of their multi-platform index), so a
# rebuild gets the same bytes; `docker buildx build --platform
# linux/amd64,linux/arm64 .` cross-compiles the binary on the build machine's
# platform for each target (the binary is static, CGO off).

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm@sha256:b305420a68d0f229d91eb3b3ed9e519fcf2cf5461da4bef997bf927e8c0bfd2b AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version.version=${VERSION} -X gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version.commit=${COMMIT}" \
      -o /out/ecs-bluegreen ./cmd/ecs-bluegreen

FROM busybox:1.37-musl@sha256:fc6dddc4c44b1bfe37f41cae8e67d1693828e8f42a91862816d7953e2c9d3f23
ARG VERSION=dev
ARG COMMIT=unknown
ARG CREATED
LABEL org.opencontainers.image.title="ecs-bluegreen" \
      org.opencontainers.image.description="Blue/green deployments of Amazon ECS services from GitLab CI/CD" \
      org.opencontainers.image.source="https://gitlab.com/ecs-bluegreen/ecs-bluegreen" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ecs-bluegreen /usr/local/bin/ecs-bluegreen
# A numeric non-root user: the job needs no privilege, and a numeric id works
# without an /etc/passwd entry.
USER 65532:65532
WORKDIR /tmp
# No ENTRYPOINT: GitLab would hand it the job script. The default command
# only says what the image is.
CMD ["ecs-bluegreen", "help"]
