# The sidecar image: the multi-call binary /opt/container-driver/sidecar, with the command
# paths of internal/contract (outputsfetcher, prechecks, inigit, statekeeper; `sidecar
# -list`) linked to it, and the runner helper. Built by goreleaser from binaries it
# compiled. distroless/static has CA certificates (git over HTTPS) and no shell, so the
# links are made in a BusyBox stage of the build platform and copied as they are; the pods
# run it as UID/GID 1000.
FROM --platform=$BUILDPLATFORM busybox:1.37 AS links
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/sidecar ${TARGETPLATFORM}/runner-helper /opt/container-driver/
RUN cd /opt/container-driver && for n in outputsfetcher prechecks inigit statekeeper; do ln -s sidecar "$n"; done

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=links /opt/container-driver /opt/container-driver
USER 1000:1000
