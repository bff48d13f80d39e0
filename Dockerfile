# syntax=docker/dockerfile:1
# The ecs-bluegreen image: one static binary on a small base that still has
# /bin/sh, because GitLab runs a job's script through a shell in the job image.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version.version=${VERSION} -X gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version.commit=${COMMIT}" \
      -o /out/ecs-bluegreen ./cmd/ecs-bluegreen

FROM busybox:1.37-musl
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
