# The service's image: `docker build -t mosaic-orchestrator .` (compose.yaml builds it too). Multi-stage: the SDK stage
# restores and publishes, the runtime stage holds the published service, git and a shell (the service runs git for
# every agent, and the command runtime and gates run with /bin/sh) and the pinned claude CLI.
#
# The base images are build arguments. Elsewhere the defaults (Microsoft's images) do; where no registry is reachable,
# scripts/local-images.sh makes stand-ins from a Debian base and the host's .NET (deploy/local/) and prints their names,
# and scripts/compose-check.sh passes them (--network host: the restore reaches NuGet through the host's network):
#   docker build --network host --build-arg SDK_IMAGE=mosaic-dotnet-sdk:10.0.401 \
#     --build-arg RUNTIME_IMAGE=mosaic-dotnet-aspnet:10.0.12 -t mosaic-orchestrator .
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
# The pinned Claude Code CLI comes from the sandbox image (scripts/sandbox-image.sh builds it offline), so the default
# claude-code runtime is ready without a download at build time.
ARG AGENT_IMAGE=mosaic-agent:latest

FROM ${AGENT_IMAGE} AS agent

FROM ${SDK_IMAGE} AS build
# The label lets scripts/compose-check.sh remove this Dockerfile's stale images (an engine's legacy builder keeps them).
LABEL io.mosaic.dockerfile=service
WORKDIR /src
# The project files first: the restore layer stays cached until a package reference changes.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Mosaic.Orchestrator/Mosaic.Orchestrator.csproj src/Mosaic.Orchestrator/
RUN dotnet restore src/Mosaic.Orchestrator/Mosaic.Orchestrator.csproj
COPY src/ src/
RUN dotnet publish src/Mosaic.Orchestrator/Mosaic.Orchestrator.csproj -c Release --no-restore -o /app

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="mosaic-orchestrator" io.mosaic.dockerfile=service
# Microsoft's aspnet image has neither git nor curl; the local stand-in has both (then nothing is installed).
RUN if ! command -v git >/dev/null || ! command -v curl >/dev/null; then \
      apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git curl ca-certificates >/dev/null \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /data && chown "${APP_UID:-1654}" /data
COPY --from=build /app /app
COPY --from=agent /usr/local/bin/claude /usr/local/bin/claude
# Agents commit under the service's identity unless the spawn says otherwise; git refuses to commit without one.
RUN git config --system user.name "Mosaic Orchestrator" \
 && git config --system user.email "orchestrator@mosaic.local"
ENV ORCHESTRATOR_HOST=0.0.0.0 \
    ORCHESTRATOR_PORT=3001 \
    DATA_DIR=/data \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
VOLUME /data
EXPOSE 3001
# APP_UID (1654) is the non-root user of Microsoft's images; the local stand-in defines the same one.
USER 1654
WORKDIR /data
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${ORCHESTRATOR_PORT}/health" >/dev/null || exit 1
ENTRYPOINT ["/app/mosaic-orchestrator"]
CMD ["serve"]
