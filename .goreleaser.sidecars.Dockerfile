# The sidecar image: outputs-fetcher, pre-checks, git-init, the state keeper and the runner
# helper at the paths of internal/contract. Built by goreleaser from binaries it compiled.
# distroless/static has CA certificates (git over HTTPS) and no shell; the pods run it as
# UID/GID 1000.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/outputsfetcher ${TARGETPLATFORM}/prechecks ${TARGETPLATFORM}/inigit ${TARGETPLATFORM}/statekeeper ${TARGETPLATFORM}/runner-helper /opt/container-driver/
USER 1000:1000
