#!/usr/bin/env bash
# Entrypoint of a DAX (cache tier) pod, tessera-dax-<slot>-0 (one single-pod StatefulSet per
# zone slot a, b, c). Builds --peers from the tessera-topology ConfigMap and execs tessera-dax.
#
# PROVISIONAL: tessera-dax is still being built. This file is the one place its command line is
# spelled; when its flags settle, change them here (and the probe in dax.yaml if `ping` changes).
#
# Environment (set by the StatefulSet):
#   HOSTNAME               the pod's name (Kubernetes sets it)
#   TESSERA_DAX_NODE_ID    1 for slot a, 2 for b, 3 for c
#   TESSERA_AZ             this pod's zone
#   TESSERA_ZONE_A/_B/_C   each slot's zone (DAX node N lives in slot N)
#   TESSERA_DAX_NODES      ID=HOST:API_PORT:CLUSTER_PORT for the three DAX nodes
#   TESSERA_ROUTER_URL     the routers' DynamoDB endpoint (--routers takes a comma-separated list)
# Goes through the image's tessera-entrypoint, as the image's own ENTRYPOINT does.
set -euo pipefail

die() {
  echo "dax.sh ($HOSTNAME): $*" >&2
  exit 64
}

: "${TESSERA_DAX_NODE_ID:?}" "${TESSERA_AZ:?}" "${TESSERA_DAX_NODES:?}" "${TESSERA_ROUTER_URL:?}"
: "${TESSERA_ZONE_A:?}" "${TESSERA_ZONE_B:?}" "${TESSERA_ZONE_C:?}"
zones=("$TESSERA_ZONE_A" "$TESSERA_ZONE_B" "$TESSERA_ZONE_C")

[[ ${HOSTNAME##*-} == 0 ]] || die "the peer list has one DAX node per zone: keep each StatefulSet at 1 replica"
id=$TESSERA_DAX_NODE_ID

peers=()
own_addr=
IFS=, read -r -a entries <<<"$TESSERA_DAX_NODES"
for entry in "${entries[@]}"; do
  peer_id=${entry%%=*}
  addr=${entry#*=}
  [[ $peer_id =~ ^[1-3]$ ]] || die "dax-nodes entry '$entry': expected ID=HOST:API_PORT:CLUSTER_PORT with ID 1..3"
  peers+=("${peer_id}@${zones[peer_id - 1]}=${addr}")
  if ((peer_id == id)); then own_addr=$addr; fi
done
[[ ${own_addr%%.*} == "$HOSTNAME" ]] ||
  die "dax-nodes names node $id '${own_addr:-nothing}', but this pod is $HOSTNAME"
[[ ${zones[id - 1]} == "$TESSERA_AZ" ]] ||
  die "DAX node $id belongs in zone ${zones[id - 1]}, but this pod's zone is $TESSERA_AZ"

peer_list=$(IFS=,; echo "${peers[*]}")
echo "dax.sh: DAX node $id in $TESSERA_AZ, peers $peer_list, routers $TESSERA_ROUTER_URL" >&2
exec tessera-entrypoint tessera-dax \
  --listen 0.0.0.0:8111 \
  --cluster-listen 0.0.0.0:8112 \
  --data-dir /var/lib/tessera/data \
  --az "$TESSERA_AZ" \
  --node-id "$id" \
  --routers "$TESSERA_ROUTER_URL" \
  --peers "$peer_list"
