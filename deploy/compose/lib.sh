# Shared by deploy/compose/{up,down,smoke}: sourced, not run.
# shellcheck shell=bash

COMPOSE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # used by the scripts that source this
REPO="$(cd "$COMPOSE_DIR/../.." && pwd)"
PROJECT="tessera"
TAG="${TESSERA_VERSION:-latest}"
export TESSERA_VERSION="$TAG"

log() { echo "${0##*/}: $*" >&2; }
die() {
  log "$*"
  exit 1
}

command -v docker >/dev/null || die "docker not found"

# Compose v2 (`docker compose`) where present, else v1 (`docker-compose`); TESSERA_COMPOSE
# overrides ("docker-compose" or "docker compose").
if [[ -n "${TESSERA_COMPOSE:-}" ]]; then
  read -r -a COMPOSE_CMD <<<"$TESSERA_COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  COMPOSE_CMD=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE_CMD=(docker-compose)
else
  die "neither 'docker compose' nor 'docker-compose' found"
fi

# The binaries take only true/false for TESSERA_LOG_JSON; accept 1/0/yes/no here too.
case "${TESSERA_LOG_JSON:-}" in
  1 | true | TRUE | True | yes | on) export TESSERA_LOG_JSON=true ;;
  *) export TESSERA_LOG_JSON=false ;;
esac

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The compose files for this cluster: the DAX override only when its image exists
# (`all` lists it regardless, for down).
compose_files() {
  local files=(-f "$COMPOSE_DIR/docker-compose.yml")
  if [[ "${1:-}" == all ]] || image_exists "tessera-dax:$TAG"; then
    files+=(-f "$COMPOSE_DIR/dax.yml")
  fi
  printf '%s\n' "${files[@]}"
}

compose() { # [all] -- ARGS...
  local which=""
  if [[ "${1:-}" == all ]]; then which=all; shift; fi
  [[ "${1:-}" == -- ]] && shift
  local files
  mapfile -t files < <(compose_files "$which")
  "${COMPOSE_CMD[@]}" -p "$PROJECT" --project-directory "$COMPOSE_DIR" "${files[@]}" "$@"
}

# Containers of the project: NAME ROLE AZ STATE HEALTH, one per line.
cluster_containers() {
  local ids
  ids="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")"
  [[ -n "$ids" ]] || return 0
  # shellcheck disable=SC2086
  docker inspect -f '{{slice .Name 1}} {{or (index .Config.Labels "tessera.role") "-"}} {{or (index .Config.Labels "tessera.az") "-"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $ids
}

# The host port that CONTAINER's PORT/tcp is published on.
host_port() { # CONTAINER PORT
  docker inspect -f "{{with index .NetworkSettings.Ports \"$2/tcp\"}}{{(index . 0).HostPort}}{{end}}" "$1" 2>/dev/null
}

# Whether the DynamoDB API at URL answers a ListTables call.
dynamodb_answers() { # URL
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null -m 5 -X POST "$1" \
      -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=x/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
      -d '{}' 2>/dev/null
  else
    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
      aws --endpoint-url "$1" --cli-read-timeout 5 --cli-connect-timeout 2 \
      dynamodb list-tables >/dev/null 2>&1
  fi
}
