# tessera-dax: the DAX-compatible cache tier. Built by deploy/images/build only when
# target/release/tessera-dax exists.
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
COPY tessera-entrypoint /usr/local/bin/
COPY tessera /usr/local/bin/
COPY tessera-dax /usr/local/bin/
# Last, so a version bump does not invalidate the layers above.
ARG VERSION=dev
LABEL org.opencontainers.image.title="tessera-dax" \
      org.opencontainers.image.description="Tessera DAX cache node" \
      org.opencontainers.image.version="${VERSION}"
USER 10001:10001
WORKDIR /var/lib/tessera
EXPOSE 8111
# Needs --listen --az --node-id --routers --peers (see deploy/compose/dax.yml).
ENTRYPOINT ["tessera-entrypoint", "tessera-dax"]
