#!/usr/bin/env bash
# bench-cluster: three moq-relay nodes on loopback, B and C linked to A (--cluster-connect). One publisher on
# A; a few subscribers directly on A (the baseline) and N subscribers split over B and C, all sessions in one
# relay-bench process (--subscribe-at, one clock for latency). Reports p50/p99 end-to-end latency per node,
# the p99 that one hop adds (B and C against A), the frame payload bytes that crossed each link (B's and C's
# bytes in, from their /metrics) against one copy of the track (the bytes the publisher put into A), and
# each node's CPU seconds and peak RSS (from /proc), and the generator's CPU seconds (GNU time). Appends the table to docs/benchmarks.md.
#
#   Benchmarks/bench-cluster.sh [--subscribers 1000] [--baseline 10] [--frame-size 1024] [--fps 20]
#       [--seconds 10] [--no-build] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/report.sh

subscribers=1000
baseline=10
frame_size=1024
fps=20
seconds=10
build=1
append=1
while [ $# -gt 0 ]; do
  case "$1" in
    --subscribers) subscribers=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --frame-size) frame_size=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-append) append=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ $build = 1 ]; then
  swift build -c release --product moq-relay >&2
  swift build -c release --product relay-bench >&2
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
peak_rss_mib() { awk '/VmHWM/{printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
metric() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }

declare -A pid url pin http
# Starts node $1 with the extra arguments that follow; fills pid, url, pin, http for it.
start_node() {
  local node=$1; shift
  http[$node]=$(free_port)
  .build/release/moq-relay --listen 127.0.0.1:0 --http-listen "127.0.0.1:${http[$node]}" --ntrip-listen 127.0.0.1:0 \
    --data-dir "$work/$node" --log-level warning "$@" > "$work/$node.out" 2> "$work/$node.err" &
  pid[$node]=$!
  pids+=("$!")
  for _ in $(seq 100); do
    grep -q '^certificate sha256' "$work/$node.out" 2>/dev/null && curl -sf "http://127.0.0.1:${http[$node]}/health" >/dev/null && break
    sleep 0.1
  done
  url[$node]=$(sed -n 's/^moq-relay listening on \(moqt:[^ ]*\).*/\1/p' "$work/$node.out")
  pin[$node]=$(sed -n 's/^certificate sha256 //p' "$work/$node.out")
  [ -n "${pin[$node]}" ] || { echo "node $node did not start: $(cat "$work/$node.err")" >&2; exit 1; }
}

start_node A
start_node B --cluster-connect "${url[A]}" --cluster-fingerprint "${pin[A]}"
start_node C --cluster-connect "${url[A]}" --cluster-fingerprint "${pin[A]}"
for node in B C; do
  for _ in $(seq 100); do [ "$(metric "${http[$node]}" moq_relay_links_up)" = 1 ] && break; sleep 0.1; done
  [ "$(metric "${http[$node]}" moq_relay_links_up)" = 1 ] || { echo "node $node: link to A not up" >&2; exit 1; }
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A cpu_before in_before out_before
for node in A B C; do
  cpu_before[$node]=$(cpu_seconds "${pid[$node]}")
  in_before[$node]=$(metric "${http[$node]}" moq_relay_bytes_in_total)
  out_before[$node]=$(metric "${http[$node]}" moq_relay_bytes_out_total)
done
on_b=$((subscribers / 2))
on_c=$((subscribers - on_b))
timeout $((seconds + 300)) /usr/bin/time -f "%U %S" -o "$work/generator.time" .build/release/relay-bench --relay "${url[A]}" \
  --fingerprint "${pin[A]}" --fingerprint "${pin[B]}" --fingerprint "${pin[C]}" \
  --subscribe-at "$baseline@${url[A]}" --subscribe-at "$on_b@${url[B]}" --subscribe-at "$on_c@${url[C]}" \
  --announce-wait 1.5 --frame-size "$frame_size" --fps "$fps" --seconds "$seconds" --label cluster \
  > "$work/bench.out" 2> "$work/bench.err" || { echo "relay-bench failed: $(tail -5 "$work/bench.err")" >&2; exit 1; }
cat "$work/bench.out" >&2

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
declare -A line cpu rss bytes_in bytes_out
index=0
for node in A B C; do
  line[$node]=$(grep "^RESULT label=cluster-$index " "$work/bench.out")
  index=$((index + 1))
  cpu[$node]=$(awk -v a="$(cpu_seconds "${pid[$node]}")" -v b="${cpu_before[$node]}" 'BEGIN{printf "%.2f", a - b}')
  rss[$node]=$(peak_rss_mib "${pid[$node]}")
  bytes_in[$node]=$(( $(metric "${http[$node]}" moq_relay_bytes_in_total) - ${in_before[$node]} ))
  bytes_out[$node]=$(( $(metric "${http[$node]}" moq_relay_bytes_out_total) - ${out_before[$node]} ))
done
published=${bytes_in[A]}
generator_cpu=$(awk '{printf "%.2f", $1 + $2}' "$work/generator.time")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
# A's bytes out beyond what its own subscribers received went into the two links.
into_links=$(( ${bytes_out[A]} - $(field bytes "${line[A]}") ))

table="| node | subscribers | frames | lost | p50 ms | p99 ms | p999 ms | payload in over its link | per copy of the track | payload out | node CPU s | peak RSS MiB |
|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for node in A B C; do
  l=${line[$node]}
  if [ "$node" = A ]; then link_in="— (publisher: $published B)"; copies="—"; else link_in="${bytes_in[$node]} B"; copies=$(ratio "${bytes_in[$node]}" "$published"); fi
  table+="
| $node | $(field subscribers "$l") | $((frame_size / 1024)) KiB x $fps/s | $(field lost "$l") | $(field p50_ms "$l") | $(field p99_ms "$l") | $(field p999_ms "$l") | $link_in | $copies | ${bytes_out[$node]} B | ${cpu[$node]} | ${rss[$node]} |"
done
added() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.2f", a - b}'; }
summary="- added latency of one hop (B, C against A's direct subscribers): p50 $(added "$(field p50_ms "${line[B]}")" "$(field p50_ms "${line[A]}")") / $(added "$(field p50_ms "${line[C]}")" "$(field p50_ms "${line[A]}")") ms, p99 $(added "$(field p99_ms "${line[B]}")" "$(field p99_ms "${line[A]}")") / $(added "$(field p99_ms "${line[C]}")" "$(field p99_ms "${line[A]}")") ms
- inter-node payload: A->B $(ratio "${bytes_in[B]}" "$published") and A->C $(ratio "${bytes_in[C]}" "$published") copies of the track (one copy = $published B published); A sent $into_links B into its links = $(ratio "$into_links" "$published") copies for 2 links; one copy per subscriber would be $on_b and $on_c
- load generator (relay-bench, all $((baseline + subscribers)) subscriber sessions and the publisher): $generator_cpu CPU s over the whole run
"
echo "$table"
printf '%s' "$summary"
if [ $append = 1 ]; then
  {
    section_header bench-cluster \
      "Benchmarks/bench-cluster.sh --subscribers $subscribers --baseline $baseline --frame-size $frame_size --fps $fps --seconds $seconds" \
      "load average $load_before when the run began (the machine is shared)"
    echo "- three moq-relay nodes on 127.0.0.1, B and C linked to A; 1 publisher on A, $baseline subscribers on A, $on_b on B,"
    echo "  $on_c on C, all sessions in one relay-bench process (moq-lite-06); latency = subscriber's wall clock minus"
    echo "  the frame's publish stamp; payload bytes from each node's moq_relay_bytes_in/out_total over the run"
    echo "  (B's and C's bytes in all came over their link to A); node CPU = utime + stime over the run; peak RSS = VmHWM"
    echo
    echo "$table"
    echo
    printf '%s' "$summary"
  } >> docs/benchmarks.md
  echo "bench-cluster: appended to docs/benchmarks.md" >&2
fi
