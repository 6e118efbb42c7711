#!/usr/bin/env bash
# bench-moq: one publisher -> one subscriber, 1 KiB frames, at several offered rates, through
#   (a) a direct session to our in-process server, and
#   (b) the reference moq-rs server acting as relay (publisher and subscriber both connect to it),
# in one run, with the same generator (Benchmarks/moq-bench). Appends a section to docs/benchmarks.md.
#
#   Benchmarks/bench-moq.sh [--frames N] [--rates "1000 5000 20000"] [--no-build] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/report.sh

frames=30000
rates="1000 5000 20000"
build=1
append=1
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-append) append=0; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ $build = 1 ] && swift build -c release --product moq-bench >&2
bench=.build/release/moq-bench
python=.venv/bin/python
[ -x "$python" ] || { echo "run scripts/setup first (.venv missing)" >&2; exit 1; }

work=$(mktemp -d)
relay_pid=""
cleanup() { [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The reference relay: moq_ref.py server (all sessions share one origin).
mkfifo "$work/relay-stdin"
sleep 600 > "$work/relay-stdin" &
holder=$!
"$python" Tests/Peers/moq_ref.py server --timeout 600 < "$work/relay-stdin" > "$work/relay.out" 2> "$work/relay.err" &
relay_pid=$!
for _ in $(seq 100); do grep -q '^READY' "$work/relay.out" 2>/dev/null && break; sleep 0.1; done
read -r _ relay_port relay_pin < <(grep '^READY' "$work/relay.out")

rows=()
run() { # label, extra args...
  local label=$1; shift
  local line
  line=$(timeout 180 "$bench" --frames "$frames" --label "$label" "$@" 2>>"$work/bench.err" | grep '^RESULT' || echo "RESULT label=$label failed=1")
  echo "bench-moq: $line" >&2
  rows+=("$line")
}
for rate in $rates; do
  run direct --rate "$rate"
  run reference-relay --rate "$rate" --relay "moqt://127.0.0.1:$relay_port/" --fingerprint "$relay_pin"
done
kill "$holder" 2>/dev/null || true

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
table="| path | offered fps | delivered fps | p50 ms | p99 ms | allocations / frame | groups dropped |
|---|---:|---:|---:|---:|---:|---:|"
i=0
for rate in $rates; do
  for _ in direct relay; do
    row=${rows[$i]}; i=$((i + 1))
    table+="
| $(field label "$row") | $rate | $(field fps "$row") | $(field p50_ms "$row") | $(field p99_ms "$row") | $(field allocs_per_frame "$row") | $(field groups_dropped "$row") |"
  done
done
echo "$table"

if [ $append = 1 ]; then
  {
    section_header bench-moq "Benchmarks/bench-moq.sh --frames $frames --rates \"$rates\""
    echo "- one publisher, one subscriber, 1 KiB frames, 30 frames per group, moq-lite-06, 127.0.0.1; latency = publisher"
    echo "  timestamp to subscriber receipt (same process, same clock); allocations counted by malloc interposition"
    echo "  over the whole process (publisher, subscriber and, for direct, our server) per delivered frame"
    echo
    echo "$table"
  } >> docs/benchmarks.md
  echo "bench-moq: appended to docs/benchmarks.md" >&2
fi
