# tessera-router: the stateless DynamoDB HTTP API in front of the storage nodes. Built by
# deploy/images/build.
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
ENV TESSERA_LISTEN=0.0.0.0:8000
COPY tessera-entrypoint /usr/local/bin/
COPY tessera /usr/local/bin/
COPY tessera-router /usr/local/bin/
# Last, so a version bump does not invalidate the layers above.
ARG VERSION=dev
LABEL org.opencontainers.image.title="tessera-router" \
      org.opencontainers.image.description="Tessera router (DynamoDB API)" \
      org.opencontainers.image.version="${VERSION}"
USER 10001:10001
WORKDIR /var/lib/tessera
EXPOSE 8000
# Needs --az AZ --nodes "ID=HOST:PORT,..." (or TESSERA_AZ / TESSERA_NODES).
# Health: tessera ping --endpoint http://127.0.0.1:8000
ENTRYPOINT ["tessera-entrypoint", "tessera-router"]
