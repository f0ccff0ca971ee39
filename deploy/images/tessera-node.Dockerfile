# tessera-node: a storage node. Built by deploy/images/build (context: a temp dir with the
# binaries, not the repository).
ARG BASE=tessera-base:bookworm
FROM ${BASE}
# The server runs as an unprivileged user (uid/gid 10001). The containers get NET_ADMIN so
# that chaos scripts can add iptables rules, but capabilities only take effect for root, so
# those scripts run iptables as root through `docker exec -u 0 CONTAINER iptables ...`; the
# server process itself never needs them.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tessera \
      --shell /usr/sbin/nologin tessera \
 && mkdir -p /var/lib/tessera \
 && chown tessera:tessera /var/lib/tessera
# The data directory: named volumes mounted here start as a copy of it (owned by tessera).
ENV TESSERA_DATA_DIR=/var/lib/tessera \
    TESSERA_LISTEN=0.0.0.0:7000
COPY tessera-entrypoint /usr/local/bin/
COPY tessera /usr/local/bin/
COPY tessera-node /usr/local/bin/
# Last, so a version bump does not invalidate the layers above.
ARG VERSION=dev
LABEL org.opencontainers.image.title="tessera-node" \
      org.opencontainers.image.description="Tessera storage node" \
      org.opencontainers.image.version="${VERSION}"
USER 10001:10001
WORKDIR /var/lib/tessera
EXPOSE 7000
# Health: tessera-node status --target 127.0.0.1:7000
ENTRYPOINT ["tessera-entrypoint", "tessera-node"]
CMD ["run"]
