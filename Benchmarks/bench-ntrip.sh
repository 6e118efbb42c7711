#!/usr/bin/env bash
# bench-ntrip: 1 NTRIP source at 1 Hz x 1 KiB epochs and N concurrent NTRIP v1 clients on one mount
# (Benchmarks/ntrip-bench, one process, many sockets) against moq-relay's caster; in the same run, RTKLIB
# str2str's own caster (ntripc) at its client limit as the anchor. Relay CPU seconds and peak RSS come from
# /proc. Appends the table to docs/benchmarks.md.
#
#   Benchmarks/bench-ntrip.sh [--clients "2000 10000"] [--seconds 15] [--no-build] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/report.sh

client_counts="2000 10000"
seconds=15
build=1
append=1
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) client_counts=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-append) append=0; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ $build = 1 ]; then
  swift build -c release --product moq-relay >&2
  swift build -c release --product ntrip-bench >&2
fi
command -v str2str >/dev/null || { echo "run scripts/setup first (str2str missing)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # each process holds one socket per client
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }  # str2str ignores SIGTERM
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
peak_rss_mib() { awk '/VmHWM/{printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

table="| caster | clients | connected | dropped | epochs delivered / expected | p50 ms | p99 ms | max ms | caster CPU s | steady CPU ms per epoch | peak RSS MiB |
|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"

# Samples the caster's CPU twice a second into $work/cpu-$1 (time, CPU seconds) while it runs.
sample_cpu() { while kill -0 "$1" 2>/dev/null; do echo "$(date +%s.%N) $(cpu_seconds "$1")"; sleep 0.5; done > "$work/cpu-$1" & }
# Caster CPU per epoch over the measured window only (the last $seconds s before now; epochs at 1 Hz).
steady_cpu_ms() {
  awk -v end="$(date +%s.%N)" -v now="$(cpu_seconds "$1")" -v s="$seconds" \
    '$1 <= end - s {start=$2} END {printf "%.0f", (now - start) * 1000 / s}' "$work/cpu-$1"
}

row() { # caster-name clients result pid cpu-before
  local cpu; cpu=$(awk -v a="$(cpu_seconds "$4")" -v b="$5" 'BEGIN{printf "%.1f", a - b}')
  table+="
| $1 | $2 | $(field connected "$3") | $(field dropped "$3") | $(field epochs "$3") / $(field 'expected~' "$3") | $(field p50_ms "$3") | $(field p99_ms "$3") | $(field max_ms "$3") | $cpu | $(steady_cpu_ms "$4") | $(peak_rss_mib "$4") |"
}

for clients in $client_counts; do
  port=$(free_port)
  .build/release/moq-relay --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --ntrip-listen "127.0.0.1:$port" \
    --data-dir "$work/data-$clients" --log-level warning > "$work/relay.out" 2>&1 &
  relay=$!; pids+=("$relay")
  for _ in $(seq 100); do grep -q '^certificate sha256' "$work/relay.out" 2>/dev/null && break; sleep 0.1; done
  before=$(cpu_seconds "$relay")
  sample_cpu "$relay"
  result=$(.build/release/ntrip-bench --caster "127.0.0.1:$port" --mount DEMO --source-password source \
    --clients "$clients" --seconds "$seconds" | grep '^RESULT')
  echo "moq-relay $clients: $result" >&2
  row moq-relay "$clients" "$result" "$relay" "$before"
  kill "$relay"; wait "$relay" 2>/dev/null || true
done

# Anchor: str2str's caster (one mount, at most 32 connections in RTKLIB), fed through its TCP server input.
in_port=$(free_port); caster_port=$(free_port)
str2str -in "tcpsvr://:$in_port" -out "ntripc://user:password@:$caster_port/DEMO" > "$work/str2str.log" 2>&1 &
anchor=$!; pids+=("$anchor")
sleep 1
before=$(cpu_seconds "$anchor")
sample_cpu "$anchor"
result=$(.build/release/ntrip-bench --caster "127.0.0.1:$caster_port" --source "127.0.0.1:$in_port" --mount DEMO \
  --clients 30 --seconds "$seconds" | grep '^RESULT')
echo "str2str 30: $result" >&2
row "str2str ntripc (anchor)" 30 "$result" "$anchor" "$before"

report="$(section_header bench-ntrip "Benchmarks/bench-ntrip.sh --clients \"$client_counts\" --seconds $seconds")
- 1 source at 1 Hz x 1 KiB epochs, N NTRIP v1 clients on one mount, one load process (2 epoll reader threads,
  one read per client per epoch, polling in 1 ms ticks while epochs arrive), $seconds s measured after all
  clients connected; latency = source write to client read of the epoch marker (same clock); release build,
  loopback, the cores shared by the caster and the load process

$table
"
echo "$report"
if [ $append = 1 ]; then printf '%s' "$report" >> docs/benchmarks.md; fi
