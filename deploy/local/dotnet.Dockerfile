# A stand-in for mcr.microsoft.com/dotnet/sdk:10.0 or aspnet:10.0 where no registry is reachable: the Debian base
# (scripts/sandbox-image.sh makes it with debootstrap) with a copy of the host's .NET installation and the host's own
# trusted CAs (a TLS-inspecting proxy's or a company's, from /usr/local/share/ca-certificates), so that a restore in
# the SDK stage trusts what the host trusts. scripts/local-images.sh makes the build context: dotnet/ (the whole SDK
# folder for the SDK image; only the host and the shared frameworks for the runtime image) and ca/.
ARG BASE_IMAGE=mosaic-debian:bookworm
FROM ${BASE_IMAGE}
ARG DOTNET_VERSION=10.0
LABEL io.mosaic.dotnet.version="${DOTNET_VERSION}"
COPY ca/ /usr/local/share/ca-certificates/
COPY dotnet/ /usr/share/dotnet/
# The user the official images run apps as (APP_UID 1654): the service's stage runs as it.
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && update-ca-certificates >/dev/null \
 && echo 'app:x:1654:1654:app:/home/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'app:x:1654:' >> /etc/group \
 && mkdir -p /home/app && chown 1654:1654 /home/app
# No ICU in the base: the service is built with InvariantGlobalization, and the SDK runs without it this way.
ENV DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    NUGET_CERT_REVOCATION_MODE=offline \
    APP_UID=1654
