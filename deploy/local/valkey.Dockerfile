# A stand-in for the valkey/valkey image where no registry is reachable: Debian's redis-server (the same protocol and
# commands the Valkey backend uses) on the Debian base, answering as `valkey-server` and `valkey-cli` too, so that
# compose.yaml's command works with either image. Built with `--network host` (apt reaches Debian's mirror).
ARG BASE_IMAGE=mosaic-debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/redis-server /usr/local/bin/valkey-server \
 && ln -s /usr/bin/redis-cli /usr/local/bin/valkey-cli \
 && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["valkey-server"]
