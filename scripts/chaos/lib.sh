# Fault injection against the docker-compose cluster (deploy/compose): sourced by
# scripts/chaos/{fault,run-all}, not run. Containers are tessera-a1 .. tessera-c2 (node ids 1..6,
# AZs a,b,c), tessera-router-{a,b}, tessera-dax-{a,b,c}.
# shellcheck shell=bash

CHAOS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$CHAOS_DIR/../.." && pwd)"
NODES=(a1 a2 b1 b2 c1 c2)
DAXES=(dax-a dax-b dax-c)
declare -A NODE_ID=([a1]=1 [a2]=2 [b1]=3 [b2]=4 [c1]=5 [c2]=6)
declare -A ID_NODE=([1]=a1 [2]=a2 [3]=b1 [4]=b2 [5]=c1 [6]=c2)

chaos_log() { echo "chaos: $*" >&2; }
chaos_die() {
  chaos_log "$*"
  exit 1
}

ctr() { echo "tessera-$1"; } # a1 -> tessera-a1

ip_of() { # NAME
  docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(ctr "$1")"
}

host_port() { # NAME PORT
  docker inspect -f "{{with index .NetworkSettings.Ports \"$2/tcp\"}}{{(index . 0).HostPort}}{{end}}" "$(ctr "$1")"
}

router_urls() { # comma-separated router endpoints on the host
  echo "http://127.0.0.1:$(host_port router-a 8000),http://127.0.0.1:$(host_port router-b 8000)"
}

dax_urls() {
  local out="" d p
  for d in "${DAXES[@]}"; do
    p="$(host_port "$d" 8111 2>/dev/null)" || continue
    [ -n "$p" ] && out+="${out:+,}http://127.0.0.1:$p"
  done
  echo "$out"
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$(ctr "$1")" 2>/dev/null)" = true ]; }

wait_healthy() { # NAME [TIMEOUT]
  local deadline=$((SECONDS + ${2:-120})) h
  while :; do
    h="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(ctr "$1")" 2>/dev/null || true)"
    [ "$h" = healthy ] && return 0
    [ $SECONDS -ge $deadline ] && chaos_die "$1 not healthy after ${2:-120}s (state: $h)"
    sleep 1
  done
}

# --- faults -----------------------------------------------------------------------------------

kill_node() { docker kill "$(ctr "$1")" >/dev/null; }
stop_node() { docker stop -t 10 "$(ctr "$1")" >/dev/null; }
start_node() {
  docker start "$(ctr "$1")" >/dev/null
  wait_healthy "$1"
}
pause_node() { docker pause "$(ctr "$1")" >/dev/null; }
unpause_node() { docker unpause "$(ctr "$1")" >/dev/null 2>&1 || true; }

# Drop NAME's traffic with each of PEERS. two-way: both directions; in: only what NAME receives.
block() { # NAME two-way|in PEER...
  local name="$1" dir="$2" peer ip
  shift 2
  for peer in "$@"; do
    ip="$(ip_of "$peer")"
    docker exec -u 0 "$(ctr "$name")" iptables -A INPUT -s "$ip" -j DROP
    if [ "$dir" = two-way ]; then
      docker exec -u 0 "$(ctr "$name")" iptables -A OUTPUT -d "$ip" -j DROP
    fi
  done
}

heal_network() { # every node: flush the rules chaos added
  local n
  for n in "${NODES[@]}"; do
    running "$n" && docker exec -u 0 "$(ctr "$n")" iptables -F >/dev/null 2>&1 || true
  done
}

# Application-level latency on every Raft message a node sends (nodes started with
# TESSERA_FAULT_INJECTION=1); 0 heals.
delay_node() { # NAME MS
  docker exec "$(ctr "$1")" tessera-node fault --target 127.0.0.1:7000 --delay-ms "$2" >/dev/null
}

# The node that leads the most data shards (by any node's view of the cluster).
busiest_leader() {
  local n out
  for n in "${NODES[@]}"; do
    running "$n" || continue
    if out="$(docker exec "$(ctr "$n")" tessera-node status --target 127.0.0.1:7000 2>/dev/null)"; then
      python3 -c '
import collections, json, sys
s = json.loads(sys.stdin.read())
c = collections.Counter(g["leader"] for g in s.get("groups", []) if g.get("table") is not None and g.get("leader"))
print(c.most_common(1)[0][0] if c else "")' <<<"$out" | while read -r id; do
        [ -n "$id" ] && echo "${ID_NODE[$id]}"
      done
      return 0
    fi
  done
}

dax_primary() { # the DAX container name of the primary
  local d p
  for d in "${DAXES[@]}"; do
    p="$(host_port "$d" 8111 2>/dev/null)" || continue
    [ -n "$p" ] || continue
    curl -fsS -m 5 "http://127.0.0.1:$p/cluster/endpoints" 2>/dev/null | python3 -c '
import json, sys
v = json.load(sys.stdin)
for n in v["nodes"]:
    if n["nodeId"] == v.get("primary"):
        print("dax-" + n["availabilityZone"])' && return 0
  done
  return 1
}
