#!/usr/bin/env bash
# Entrypoint of a storage-node pod, tessera-node-<slot>-<ordinal> (one StatefulSet per zone slot
# a, b, c; two pods each). Derives the node id from the pod's ordinal and --peers from the
# tessera-topology ConfigMap, checks that the two agree about this pod, then execs tessera-node.
#
# Environment (set by the StatefulSet):
#   HOSTNAME                the pod's name (Kubernetes sets it)
#   TESSERA_NODE_ID_BASE    0 for slot a, 2 for b, 4 for c: node id = base + ordinal + 1
#   TESSERA_AZ              this pod's zone
#   TESSERA_ZONE_A/_B/_C    each slot's zone (ids 1,2 are in A, 3,4 in B, 5,6 in C)
#   TESSERA_STORAGE_NODES   ID=HOST:PORT for all six storage nodes
#   TESSERA_LOG_JSON, RUST_LOG are read by tessera-node itself.
# Goes through the image's tessera-entrypoint, as the image's own ENTRYPOINT does (it maps
# TESSERA_FAULT_INJECTION=1 to --enable-fault-injection, for chaos tests).
set -euo pipefail

die() {
  echo "node.sh ($HOSTNAME): $*" >&2
  exit 64
}

: "${TESSERA_NODE_ID_BASE:?}" "${TESSERA_AZ:?}" "${TESSERA_STORAGE_NODES:?}"
: "${TESSERA_ZONE_A:?}" "${TESSERA_ZONE_B:?}" "${TESSERA_ZONE_C:?}"
zones=("$TESSERA_ZONE_A" "$TESSERA_ZONE_B" "$TESSERA_ZONE_C")

ordinal=${HOSTNAME##*-}
[[ $ordinal =~ ^[0-9]+$ ]] || die "cannot read a StatefulSet ordinal from the pod name"
((ordinal < 2)) || die "the peer list has two nodes per zone: scale each StatefulSet to 2, not more"
id=$((TESSERA_NODE_ID_BASE + ordinal + 1))

peers=()
own_addr=
IFS=, read -r -a entries <<<"$TESSERA_STORAGE_NODES"
for entry in "${entries[@]}"; do
  peer_id=${entry%%=*}
  addr=${entry#*=}
  [[ $peer_id =~ ^[1-6]$ ]] || die "storage-nodes entry '$entry': expected ID=HOST:PORT with ID 1..6"
  peers+=("${peer_id}@${zones[(peer_id - 1) / 2]}=${addr}")
  if ((peer_id == id)); then own_addr=$addr; fi
done
[[ ${own_addr%%.*} == "$HOSTNAME" ]] ||
  die "storage-nodes names node $id '${own_addr:-nothing}', but this pod is $HOSTNAME"
[[ ${zones[(id - 1) / 2]} == "$TESSERA_AZ" ]] ||
  die "node $id belongs in zone ${zones[(id - 1) / 2]}, but this pod's zone is $TESSERA_AZ"

peer_list=$(IFS=,; echo "${peers[*]}")
echo "node.sh: node $id in $TESSERA_AZ, peers $peer_list" >&2
exec tessera-entrypoint tessera-node run \
  --node-id "$id" \
  --az "$TESSERA_AZ" \
  --listen 0.0.0.0:7000 \
  --data-dir /var/lib/tessera/data \
  --peers "$peer_list"
