# The ecs-bluegreen image as the project's pipeline builds it, with the tool
# itself (`ecs-bluegreen build`, no Docker daemon), from the static binary and
# the CA certificates its binary job leaves in dist/. It is the final stage of
# ../Dockerfile, which needs a RUN for the Go build and so a Docker engine;
# internal/component's TestImageDockerfile keeps the two in step. The
# pipeline builds it once per platform (FROM --platform=linux/<arch>, with
# that platform's binary) and joins the two images in one index.
FROM busybox:1.37-musl@sha256:fc6dddc4c44b1bfe37f41cae8e67d1693828e8f42a91862816d7953e2c9d3f23
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="ecs-bluegreen" \
      org.opencontainers.image.description="Blue/green deployments of Amazon ECS services from GitLab CI/CD" \
      org.opencontainers.image.source="https://gitlab.com/ecs-bluegreen/ecs-bluegreen" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ecs-bluegreen /usr/local/bin/ecs-bluegreen
USER 65532:65532
WORKDIR /tmp
CMD ["ecs-bluegreen", "help"]
