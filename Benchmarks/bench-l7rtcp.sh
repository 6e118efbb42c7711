#!/usr/bin/env bash
# bench-l7rtcp: wrk (Debian) pulling 4 KiB L7RTCP chunks from moq-relay (release) over 64 keep-alive
# connections (Benchmarks/l7rtcp-pull.lua), for a stateful and a stateless transmission, and in the same run
# nginx (Debian) serving a 4 KiB static file as the ceiling. The chunks come from a track the reference
# moq-rs client publishes. Reports pulls/s, p99 latency, server CPU; appends the table to docs/benchmarks.md.
#
#   Benchmarks/bench-l7rtcp.sh [--seconds 15] [--connections 64] [--no-build] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=15
connections=64
build=1
append=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-append) append=0; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "run scripts/setup first (wrk, nginx)" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "run scripts/setup first (.venv)" >&2; exit 1; }
if [ $build = 1 ]; then swift build -c release --product moq-relay >&2; fi
work=$(mktemp -d)
chmod 755 "$work"  # nginx's workers run as an unprivileged user
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{s += ($14 + $15) / t} END {printf "%.2f", s}' "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
chunks=1024
chunk_size=4096
threads=$(nproc)

table="| server | what | connections | requests/s | p50 ms | p99 ms | errors | server CPU s | ratio to nginx |
|---|---|---:|---:|---:|---:|---:|---:|---:|"
declare -A rates

run_wrk() { # name what url cpu-pid-files... ; env L7_* for the lua script
  local name=$1 what=$2 url=$3 script=$4; shift 4
  local before; before=$(cpu_seconds "$@")
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency ${script:+-s "$script"} "$url" > "$work/wrk.out"
  local after; after=$(cpu_seconds "$@")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%"{print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%"{print $2}' "$work/wrk.out")
  errors=$(awk '/Non-2xx|Socket errors/{sub(/^ +/, ""); printf "%s; ", $0}' "$work/wrk.out")
  rates[$name/$what]=$rps
  echo "$name $what: $rps req/s, p50 $p50, p99 $p99 ${errors}" >&2
  table+="
| $name | $what | $connections | $rps | $(ms "$p50") | $(ms "$p99") | ${errors:-0} | $(awk -v a="$after" -v b="$before" 'BEGIN{printf "%.1f", a - b}') | RATIO_$(tr -c 'a-z' '_' <<<"$name$what") |"
}
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/, "", v); printf "%.2f", v/1000} else if (v ~ /ms$/) {sub(/ms$/, "", v); printf "%.2f", v} else if (v ~ /s$/) {sub(/s$/, "", v); printf "%.0f", v*1000} else print v }'; }

# nginx: a 4 KiB static file, keep-alive, no access log, as many workers as cores.
nginx_port=$(free_port)
mkdir -p "$work/nginx/www"
head -c "$chunk_size" /dev/urandom > "$work/nginx/www/chunk"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nginx_port; root $work/nginx/www; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
sleep 1
nginx_master=$(cat "$work/nginx/nginx.pid")
nginx_stats=$( (echo "$nginx_master"; pgrep -P "$nginx_master") | sed 's|.*|/proc/&/stat|' | tr '\n' ' ')

# moq-relay (release) and the reference publisher: 1024 groups of one 4 KiB frame, written once the
# relay subscribes (the transmission's init subscribes), one every 2 ms, then held.
http_port=$(free_port)
.build/release/moq-relay --listen 127.0.0.1:0 --http-listen "127.0.0.1:$http_port" --ntrip-listen 127.0.0.1:0 \
  --data-dir "$work/data" --log-level warning --l7rtcp-retention 4096 > "$work/relay.out" 2>&1 &
relay=$!; pids+=("$relay")
for _ in $(seq 100); do grep -q '^certificate sha256' "$work/relay.out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '/listening on/{print $4}' "$work/relay.out")
pin=$(awk '/^certificate sha256/{print $3}' "$work/relay.out")
.venv/bin/python Tests/Peers/moq_ref.py publish --url "$url" --fingerprint "$pin" --broadcast bench --track data \
  --groups "$chunks" --frames-per-group 1 --frame-size "$chunk_size" --interval-ms 2 --wait-subscriber \
  --hold-seconds 600 --finish never --timeout 900 --ignore-stdin > "$work/publisher.out" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$http_port"
for _ in $(seq 100); do curl -s "$base/announced" | grep -qx bench && break; sleep 0.1; done
stream="data;broadcast=bench"
init_transmission() { # session-type -> transmission id
  curl -s -D - -o /dev/null -X POST "$base/l7rtcp/init" -H 'X-Client-ID: bench' -H "X-Session-Type: $1" \
    -H 'X-Features-Supported: core,resend,pull,stateless' -H "X-Streams: $stream" -H "X-Chunk-Size: $chunk_size" \
    | awk 'tolower($1)=="x-transmission-id:"{print $2}' | tr -d '\r'
}
# Both transmissions start before the publisher writes (it waits for the first subscription); a few of the
# first groups may pass before the feed's subscription starts reading, so pulls use ids 0..chunks-17.
stateful=$(init_transmission stateful)
stateless=$(init_transmission stateless)
chunks=$((chunks - 16))
for tx in "$stateful" "$stateless"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/l7rtcp/transmit" -H "X-Transmission-ID: $tx" \
    -H "X-Stream-ID: $stream" -H "X-Packet-ID: $((chunks - 1))" -H 'X-Wait-Ms: 30000')
  [ "$status" = 209 ] || { echo "chunk $((chunks - 1)) of transmission ${tx:0:39}: $status" >&2; exit 1; }
done
size=$(curl -s -X POST "$base/l7rtcp/transmit" -H "X-Transmission-ID: $stateful" -H "X-Stream-ID: $stream" \
  -H 'X-Packet-ID: 7' | wc -c)
[ "$size" = "$chunk_size" ] || { echo "chunks are $size bytes, not $chunk_size" >&2; exit 1; }

run_wrk nginx "GET 4 KiB static file" "http://127.0.0.1:$nginx_port/chunk" "" $nginx_stats
export L7_STREAM=$stream L7_CHUNKS=$chunks
L7_TX=$stateful run_wrk moq-relay "L7RTCP pull, stateful" "$base" Benchmarks/l7rtcp-pull.lua "/proc/$relay/stat"
L7_TX=$stateless run_wrk moq-relay "L7RTCP pull, stateless" "$base" Benchmarks/l7rtcp-pull.lua "/proc/$relay/stat"

ceiling=${rates["nginx/GET 4 KiB static file"]}
for key in "${!rates[@]}"; do
  name=${key%%/*}; what=${key#*/}
  marker="RATIO_$(tr -c 'a-z' '_' <<<"$name$what")"
  ratio=$(awk -v a="${rates[$key]}" -v b="$ceiling" 'BEGIN{printf "%.0f%%", 100 * a / b}')
  table=${table//$marker/$ratio}
done

report="## $(date -u '+%Y-%m-%d %H:%M UTC') — bench-l7rtcp

- command: \`Benchmarks/bench-l7rtcp.sh --seconds $seconds --connections $connections\`
- machine: $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)
- source: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Benchmarks || echo ' + uncommitted changes'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), nginx $(nginx -v 2>&1 | sed 's|.*/||')
- wrk -t$threads -c$connections -d${seconds}s, keep-alive, loopback; wrk, nginx and moq-relay share the $(nproc) cores.
  L7RTCP: \`POST /l7rtcp/transmit\` for packet ids 0..$((chunks - 1)) in turn (4 KiB chunks of a track the
  reference moq-rs client published: 209 + the chunk, CRC32C and advice headers); nginx: \`GET\` of a 4 KiB file.
  Target: L7RTCP pulls/s >= 50% of nginx's requests/s.

$table
"
echo "$report"
if [ $append = 1 ]; then printf '\n%s' "$report" >> docs/benchmarks.md; fi
