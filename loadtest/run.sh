#!/usr/bin/env bash
# Load test: the same axum route bare (`GET /bare`) and behind JwtAuth
# (`GET /auth`), per configuration, in alternating rounds. The server is
# pinned to one core and wrk to another. Loopback only; every run is bounded
# in time and the server stops by itself. See loadtest/README.md.
#
#   loadtest/run.sh                  # every configuration (about 14 minutes)
#   loadtest/run.sh HS256-cache RS256-cache redis-99
#   DURATION=3 ROUNDS=3 loadtest/run.sh HS256-cache
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}          # seconds per wrk run
ROUNDS=${ROUNDS:-5}              # alternating bare/layer rounds per configuration
WARMUP=${WARMUP:-1}              # seconds of warm-up per path, not recorded
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NICE=${NICE:-0}                  # e.g. -10 (root) on a machine shared with other work
COMPOSE=${COMPOSE:-route-layer}  # how the layer is applied: route-layer (as Router::layer does) or service (around the Router)
LAYER=${LAYER:-jwt}              # jwt (JwtAuth), or floor: the hand-over alone in its place, a measure (see README)
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
HOT_TOKENS=${HOT_TOKENS:-1000}
COLD_EVERY=${COLD_EVERY:-100}    # 1 request in 100 misses the revocation cache
COLD_SLICE=${COLD_SLICE:-20000}  # cold tokens reserved per layer run
FURTHER_CACHED=${FURTHER_CACHED:-800000} # HS256-cache-800k: more tokens in the verified-token cache, never sent
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# DPoP: every request of the layer's runs takes a fresh proof, made by the
# server at start; this many per layer run (more than one core can check).
PROOFS_PER_RUN=${PROOFS_PER_RUN:-$((DURATION * 40000))}

# name  algorithm  token-cache  revocation  cold-every  dpop-client-key  further-cached
# further-cached: tokens of other subjects verified at start besides the hot
# and cold ones, so in the verified-token cache but never sent (how the
# cache's size alone weighs on a hit). With cold-every > 0, the ROUNDS x
# COLD_SLICE cold tokens are verified at start too.
ALL_CONFIGS="
HS256-cache      HS256 on  none   0 none 0
HS256-cache-800k HS256 on  none   0 none $FURTHER_CACHED
HS256-no-cache   HS256 off none   0 none 0
RS256-cache      RS256 on  none   0 none 0
RS256-no-cache   RS256 off none   0 none 0
PS256-cache      PS256 on  none   0 none 0
PS256-no-cache   PS256 off none   0 none 0
ES256-cache      ES256 on  none   0 none 0
ES256-no-cache   ES256 off none   0 none 0
EdDSA-cache      EdDSA on  none   0 none 0
EdDSA-no-cache   EdDSA off none   0 none 0
memory-99        HS256 on  memory $COLD_EVERY none 0
redis-99         HS256 on  redis  $COLD_EVERY none 0
ES256-dpop       HS256 on  none   0 ES256 0
EdDSA-dpop       HS256 on  none   0 EdDSA 0
"

missing=0
for tool in wrk taskset awk cargo; do
  if ! command -v "$tool" >/dev/null; then
    echo "missing: $tool" >&2
    missing=1
  fi
done
if [ "$missing" = 1 ]; then
  echo "install the load generator with: sudo apt-get install -y wrk   (taskset is in util-linux)" >&2
  exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "needs at least 2 cores: the server and wrk are pinned to different ones" >&2
  exit 2
fi

selected=("$@")
configs=$(echo "$ALL_CONFIGS" | awk 'NF' | while read -r name rest; do
  if [ "${#selected[@]}" = 0 ] || printf '%s\n' "${selected[@]}" | grep -qx "$name"; then
    echo "$name $rest"
  fi
done)
if [ -z "$configs" ]; then
  echo "no configuration matches: $*; choose among:" $(echo "$ALL_CONFIGS" | awk 'NF {print $1}') >&2
  exit 2
fi

if [ -n "${SERVER_BIN:-}" ]; then
  # A server built elsewhere (another commit, to compare two trees).
  server_bin=$SERVER_BIN
else
  echo "building the server (release)..." >&2
  cargo build --quiet --release -p examples --example loadtest_server
  server_bin="$TARGET_DIR/release/examples/loadtest_server"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/auth-loadtest.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

redis_up() {
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1
  else
    local hostport=${REDIS_URL#redis://}
    hostport=${hostport%%/*}
    timeout 2 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null
  fi
}

# On-CPU time of every thread of a process, in nanoseconds.
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}

median() {
  sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

field() { # field NAME LINE
  echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'
}

# One wrk run; prints "rps p50_us p99_us cpu_us_per_request".
run_wrk() { # path cold_every cold_offset seconds
  local before after line proof_args=()
  if [ "$dpop" != none ]; then
    # The layer's runs take fresh proofs, each run its own slice; the bare
    # route gets the same bytes again and again.
    if [ "$1" = /auth ]; then
      # Kept in a file: the rounds call this in a subshell.
      local proof_offset
      proof_offset=$(cat "$tokens_dir/proof_offset")
      proof_args=("$proof_offset" "$PROOFS_PER_RUN" once)
      echo $((proof_offset + PROOFS_PER_RUN)) >"$tokens_dir/proof_offset"
    else
      proof_args=(0 1 reuse)
    fi
  fi
  before=$(cpu_ns "$server_pid")
  line=$(nice -n "$NICE" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$4"s --timeout 2s \
    -s loadtest/tokens.lua "$url$1" -- "$tokens_dir" "$2" "$3" "${proof_args[@]}" | grep '^RESULT ' || true)
  after=$(cpu_ns "$server_pid")
  if [ -z "$line" ]; then
    echo "wrk printed no result for $url$1" >&2
    return 1
  fi
  local requests socket non2xx exhausted
  requests=$(field requests "$line")
  socket=$(field socket_errors "$line")
  non2xx=$(field non2xx "$line")
  exhausted=$(field cold_exhausted "$line")
  if [ "$socket" != 0 ] || [ "$non2xx" != 0 ] || [ "$exhausted" != 0 ]; then
    echo "$name $1: $socket socket errors, $non2xx answers other than 2xx, $exhausted cold tokens missing; not a valid run" >&2
    return 1
  fi
  echo "$line" >>"$work/raw.txt"
  awk -v r="$(field rps "$line")" -v p50="$(field p50_us "$line")" -v p99="$(field p99_us "$line")" \
    -v cpu=$((after - before)) -v n="$requests" \
    'BEGIN {printf "%.1f %d %d %.2f\n", r, p50, p99, cpu / n / 1000}'
}

table="$work/table.md"
{
  echo "| configuration | bare req/s | layer req/s | layer / bare: median (rounds) | p50 µs bare / layer | p99 µs bare / layer | server CPU µs/req bare / layer | CPU bare / layer |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|"
} >"$table"

while read -r name alg cache revocation cold_every dpop further; do
  [ -n "$name" ] || continue
  store=$revocation
  if [ "$revocation" = redis ]; then
    if ! redis_up; then
      echo "$name: skipped, no Redis at $REDIS_URL (start one: redis-server --port 6379 --save '' --appendonly no)" >&2
      echo "| $name | skipped: no Redis at $REDIS_URL | | | | | | |" >>"$table"
      continue
    fi
    store=$REDIS_URL
  fi
  cold_tokens=$further
  if [ "$cold_every" != 0 ]; then cold_tokens=$((cold_tokens + ROUNDS * COLD_SLICE)); fi
  tokens_dir="$work/$name"
  mkdir -p "$tokens_dir"
  tags=""
  if [ "$COMPOSE" != route-layer ]; then tags=$COMPOSE; fi
  if [ "$LAYER" != jwt ]; then tags="${tags:+$tags, }$LAYER"; fi
  label=$name
  if [ -n "$tags" ]; then label="$name ($tags)"; fi
  echo "== $label: $alg, token cache $cache, revocation $revocation, cold every $cold_every, DPoP $dpop, $cold_tokens further tokens cached, layer $LAYER applied as $COMPOSE" >&2
  echo 0 >"$tokens_dir/proof_offset"
  LOADTEST_COMPOSE=$COMPOSE LOADTEST_LAYER=$LAYER LOADTEST_DPOP=$dpop LOADTEST_DPOP_PROOFS=$(((ROUNDS + 1) * PROOFS_PER_RUN)) \
  LOADTEST_ALG=$alg LOADTEST_TOKEN_CACHE=$cache LOADTEST_REVOCATION=$store \
    LOADTEST_HOT_TOKENS=$HOT_TOKENS LOADTEST_COLD_TOKENS=$cold_tokens \
    LOADTEST_OUT=$tokens_dir LOADTEST_LISTEN=127.0.0.1:0 LOADTEST_MAX_SECS=$((ROUNDS * 4 * DURATION + 300)) \
    nice -n "$NICE" taskset -c "$SERVER_CPU" "$server_bin" >"$tokens_dir/server.log" 2>&1 &
  server_pid=$!
  url=""
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^listening on //p' "$tokens_dir/server.log")
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$url" ]; then
    echo "$name: the server did not start:" >&2
    cat "$tokens_dir/server.log" >&2
    exit 1
  fi

  # Warm-up: connections, the allocator, the CPU's caches. Hot tokens only.
  run_wrk /bare 0 0 "$WARMUP" >/dev/null
  run_wrk /auth 0 0 "$WARMUP" >/dev/null

  : >"$work/rounds.txt"
  for round in $(seq 1 "$ROUNDS"); do
    offset=$(((round - 1) * COLD_SLICE))
    if [ $((round % 2)) = 1 ]; then order="bare layer"; else order="layer bare"; fi
    for kind in $order; do
      if [ "$kind" = bare ]; then path=/bare; else path=/auth; fi
      result=$(run_wrk "$path" "$cold_every" "$offset" "$DURATION")
      eval "${kind}_result=(\$result)"
      echo "   round $round $kind: $result  (req/s p50_us p99_us cpu_us/req)" >&2
    done
    # shellcheck disable=SC2154 # set by eval above
    echo "${bare_result[*]} ${layer_result[*]}" >>"$work/rounds.txt"
  done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""

  col() { awk -v c="$1" '{print $c}' "$work/rounds.txt" | median; }
  ratios=$(awk '{printf "%.3f ", $5 / $1}' "$work/rounds.txt")
  ratio=$(echo "$ratios" | tr ' ' '\n' | awk 'NF' | median)
  cpu_ratio=$(awk '{print $4 / $8}' "$work/rounds.txt" | median)
  printf '| %s | %.0f | %.0f | **%.3f** (%s) | %s / %s | %s / %s | %s / %s | %.3f |\n' \
    "$label" "$(col 1)" "$(col 5)" "$ratio" "${ratios% }" \
    "$(col 2)" "$(col 6)" "$(col 3)" "$(col 7)" "$(col 4)" "$(col 8)" "$cpu_ratio" >>"$table"
done <<<"$configs"

echo
echo "wrk -t1 -c$CONNECTIONS, $DURATION s per run, $ROUNDS rounds; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU, nice $NICE; medians over rounds"
echo
cat "$table"
