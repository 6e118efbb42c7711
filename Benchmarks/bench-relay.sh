#!/usr/bin/env bash
# bench-relay: 1 publisher -> relay -> N subscribers (Benchmarks/relay-bench), through our moq-relay and,
# in the same run with the same generator, through the reference server acting as relay (moq_ref.py
# server: one origin for all sessions), each over raw QUIC (moqt://) and WebTransport (https://, same UDP
# port). Each run gets a fresh relay process whose CPU seconds and peak RSS are read from /proc. Appends
# the table and the ratios to docs/benchmarks.md. With --idle N it measures memory instead: N subscriber
# sessions subscribed to a silent track, the relay's resident memory (VmRSS) before and while they are
# held, and the difference per idle subscriber, for both relays. With --syscalls it counts the relay's
# system calls per delivered 1 KiB frame (strace -c -f over the run, first subscriber count) for both.
# With --hop it measures the relay's own hop instead (1 subscriber, 1 KiB x 100/s, both transports): the time
# from the publisher's datagram entering the loopback device to the relay's datagram of the same frame entering
# it (perf, tracepoint net:net_dev_queue; Benchmarks/relay-hop.py), next to the end-to-end latency of the run.
# With --rounds R every scenario runs R times, ours and the reference alternating, and each ratio is the
# median of the R paired rounds (CPU on this shared VM drifts by +-20% between runs).
#
#   Benchmarks/bench-relay.sh [--subscribers "1 100"] [--seconds 10] [--rounds 1] [--idle N | --syscalls | --hop]
#                             [--frames "1024x100 65536x30"] [--quic-sockets N] [--quic-pack N] [--no-build] [--no-append]
# --frames picks the scenarios: frame bytes x frames per second (both by default). --quic-sockets runs our
# relay with N UDP sockets on its port (default: its own, one per core), --quic-pack with its placement of new
# connections (default: its own); each section names both.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/report.sh

subscriber_counts="1 100"
seconds=10
rounds=1
scenarios="1024x100 65536x30"
build=1
append=1
idle=0
syscalls=0
hop=0
quic_sockets=""
quic_pack=""
while [ $# -gt 0 ]; do
  case "$1" in
    --subscribers) subscriber_counts=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --frames) scenarios=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --syscalls) syscalls=1; shift ;;
    --hop) hop=1; shift ;;
    --quic-sockets) quic_sockets=$2; shift 2 ;;
    --quic-pack) quic_pack=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-append) append=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ $build = 1 ]; then
  swift build -c release --product moq-relay >&2
  swift build -c release --product relay-bench >&2
fi
python=.venv/bin/python
[ -x "$python" ] || { echo "run scripts/setup first (.venv missing)" >&2; exit 1; }
work=$(mktemp -d)
relay_pid=""
cleanup() { [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

# Starts a relay ("ours" or "reference"); sets relay_pid, relay_url, relay_pin.
start_relay() {
  if [ "$1" = ours ]; then
    .build/release/moq-relay --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --ntrip-listen 127.0.0.1:0 --data-dir "$work/data" \
      ${quic_sockets:+--quic-sockets "$quic_sockets"} ${quic_pack:+--quic-pack "$quic_pack"} --log-level warning > "$work/relay.out" 2>&1 &
    relay_pid=$!
    for _ in $(seq 100); do grep -q '^moq-relay HTTP API on' "$work/relay.out" 2>/dev/null && break; sleep 0.1; done
    relay_url=$(sed -n 's/^moq-relay listening on \(moqt:[^ ]*\).*/\1/p' "$work/relay.out")
    relay_http=$(sed -n 's/^moq-relay HTTP API on \(http:[^ ]*\)/\1/p' "$work/relay.out")
    relay_pin=$(sed -n 's/^certificate sha256 //p' "$work/relay.out")
    ours_sockets=$(sed -n 's/^moq-relay listening on .*(UDP, \([0-9]*\) socket.*/\1/p' "$work/relay.out")
    ours_pack=$(sed -n 's/^moq-relay listening on .*--quic-pack \([0-9]*\).*/\1/p' "$work/relay.out")
  else
    "$python" Tests/Peers/moq_ref.py server --ignore-stdin --timeout 900 > "$work/relay.out" 2> "$work/relay.err" &
    relay_pid=$!
    for _ in $(seq 100); do grep -q '^READY' "$work/relay.out" 2>/dev/null && break; sleep 0.1; done
    read -r _ port relay_pin < <(grep '^READY' "$work/relay.out")
    relay_url="moqt://127.0.0.1:$port/"
  fi
}

# The section lines naming our relay's QUIC sockets and their placement (read from its listening line).
ours_note() {
  echo "- ours: moq-relay with ${ours_sockets:-?} UDP socket(s) on its QUIC port (--quic-sockets; one event loop each)"
  [ -z "${ours_pack:-}" ] || echo "  new connections packed on the first up to $ours_pack (--quic-pack), then on the socket holding fewest"
}
sockets_option=${quic_sockets:+ --quic-sockets $quic_sockets}${quic_pack:+ --quic-pack $quic_pack}

# Stops the relay started last and waits for it to exit.
stop_relay() { kill "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true; relay_pid=""; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }

if [ "$idle" -gt 0 ]; then
  table="| relay | idle subscribers | relay RSS before MiB | RSS with them MiB | KiB per idle subscriber |
|---|---:|---:|---:|---:|"
  declare -A per_sub=()
  for which in ours reference; do
    start_relay "$which"
    sleep 1
    before=$(rss_kib "$relay_pid")
    .build/release/relay-bench --relay "$relay_url" --fingerprint "$relay_pin" --idle-subscribers "$idle" \
      --seconds 6 --label "$which" > "$work/idle.out" 2>>"$work/bench.err" &
    bench_pid=$!
    for _ in $(seq 1200); do grep -q '^IDLE_READY' "$work/idle.out" 2>/dev/null && break; sleep 0.1; done
    grep -q '^IDLE_READY' "$work/idle.out" || { echo "bench-relay: $which: idle subscribers not ready" >&2; tail -3 "$work/bench.err" >&2; exit 1; }
    sleep 2
    if [ "$which" = ours ]; then
      # Every subscription served (the relay's counter), not just sent, before memory is read.
      for _ in $(seq 300); do
        served=$(curl -s "${relay_http}metrics" | awk '/^moq_relay_subscriptions_total /{print $2}')
        [ "${served:-0}" -ge "$idle" ] && break; sleep 0.1
      done
      [ "${served:-0}" -ge "$idle" ] || { echo "bench-relay: ours served ${served:-0} of $idle subscriptions" >&2; exit 1; }
    fi
    with=$(rss_kib "$relay_pid")
    wait "$bench_pid" || true
    stop_relay
    per_sub[$which]=$(awk -v a="$with" -v b="$before" -v n="$idle" 'BEGIN{printf "%.1f", (a - b) / n}')
    echo "bench-relay: idle $which before=${before}KiB with=${with}KiB per=${per_sub[$which]}KiB" >&2
    table+="
| $which | $idle | $(awk -v k="$before" 'BEGIN{printf "%.1f", k / 1024}') | $(awk -v k="$with" 'BEGIN{printf "%.1f", k / 1024}') | ${per_sub[$which]} |"
  done
  echo "$table"
  if [ $append = 1 ]; then
    {
      section_header "bench-relay, idle subscribers" "Benchmarks/bench-relay.sh --idle $idle$sockets_option"
      ours_note
      echo "- $idle moq-lite-06 subscriber sessions (raw QUIC, one relay-bench process) each subscribed to a silent"
      echo "  track of one publisher; relay VmRSS read before they connect and while they are held"
      echo
      echo "$table"
    } >> docs/benchmarks.md
    echo "bench-relay: appended to docs/benchmarks.md" >&2
  fi
  exit 0
fi
if [ "$syscalls" = 1 ]; then
  command -v strace > /dev/null || { echo "bench-relay: --syscalls needs strace (scripts/setup installs it)" >&2; exit 1; }
  n=${subscriber_counts%% *}
  # per_frame SYSCALL [errors]: its calls (or failed calls) in "$work/strace.txt" per delivered frame. strace -c
  # rows are "% time, seconds, usecs/call, calls, [errors], syscall"; the errors column only when some failed.
  per_frame() {
    awk -v s="$1" -v want="${2:-calls}" -v f="$frames" '$NF == s {
      v = (want == "calls") ? $4 : (NF == 6 ? $5 : 0); printf "%.2f", v / f; found = 1
    } END { if (!found) print "0" }' "$work/strace.txt"
  }
  table="| relay | subscribers | frames | epoll_wait | recvmmsg (EAGAIN) | sendmsg | sendmmsg | timerfd_settime | futex | mprotect | all calls |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for which in ours reference; do
    start_relay "$which"
    sleep 0.5
    strace -c -f -o "$work/strace.txt" -p "$relay_pid" 2>/dev/null &
    strace_pid=$!
    sleep 0.5
    line=$(.build/release/relay-bench --relay "$relay_url" --fingerprint "$relay_pin" --subscribers "$n" \
      --frame-size 1024 --fps 100 --seconds "$seconds" --label "$which" 2>>"$work/bench.err" | grep '^RESULT' || true)
    kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
    stop_relay
    frames=$(field frames "$line")
    [ "${frames:-0}" -gt 0 ] || { echo "bench-relay: $which delivered no frames" >&2; tail -3 "$work/bench.err" >&2; exit 1; }
    table+="
| $which | $n | $frames | $(per_frame epoll_wait) | $(per_frame recvmmsg) ($(per_frame recvmmsg errors)) | $(per_frame sendmsg) | $(per_frame sendmmsg) | $(per_frame timerfd_settime) | $(per_frame futex) | $(per_frame mprotect) | $(per_frame total) |"
  done
  echo "$table"
  if [ $append = 1 ]; then
    {
      section_header "bench-relay, system calls per frame" "Benchmarks/bench-relay.sh --syscalls --subscribers $n --seconds $seconds$sockets_option"
      ours_note
      echo "- 1 publisher -> relay -> $n subscriber(s), 1 KiB x 100/s over raw QUIC; the relay's calls (all threads,"
      echo "  strace -c -f) divided by the frames delivered to the subscribers"
      echo
      echo "$table"
    } >> docs/benchmarks.md
    echo "bench-relay: appended to docs/benchmarks.md" >&2
  fi
  exit 0
fi
# ratio A B: A / B to two places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# paired_ratio VALUES A B: the median of A's and B's per-round ratios, read from the associative array VALUES
# (keys "which.round"), then every round's ratio in brackets.
paired_ratio() {
  local -n per_round=$1
  local r values=()
  for r in $(seq "$rounds"); do values+=("$(ratio "${per_round[$2.$r]}" "${per_round[$3.$r]}")"); done
  if [ "$rounds" = 1 ]; then echo "${values[0]}"; return; fi
  printf '%s\n' "${values[@]}" | sort -g | awk -v all="${values[*]}" '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; gsub(/ /, ", ", all)
    printf "%.2f [%s]", m, all }'
}
if [ "$hop" = 1 ]; then
  command -v perf > /dev/null || { echo "bench-relay: --hop needs perf (scripts/setup installs linux-perf)" >&2; exit 1; }
  table="| relay | round | frames | end-to-end p50 ms | end-to-end p99 ms | hop frames | hop p50 ms | hop p90 ms | hop p99 ms | hop p999 ms | hop max ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  declare -A hop_p99=()
  frame_datagram_bytes=1000  # a 1 KiB frame's datagram is larger; ACKs and control are smaller
  for round in $(seq "$rounds"); do
    for which in ours ours-wt reference reference-wt; do
      start_relay "${which%-wt}"
      [ "$which" = "${which%-wt}" ] || relay_url=${relay_url/moqt:/https:}
      timeout $((seconds + 120)) .build/release/relay-bench --relay "$relay_url" --fingerprint "$relay_pin" \
        --subscribers 1 --frame-size 1024 --fps 100 --seconds "$seconds" --label "$which" \
        > "$work/hop-bench.out" 2>>"$work/bench.err" &
      bench_pid=$!
      # Recording starts once the handshakes (padded, large datagrams) are over; only datagrams of 1000
      # bytes and more (the frames) are recorded, so ACKs and control are left out.
      sleep 2
      perf record -a -e net:net_dev_queue --filter "len >= $frame_datagram_bytes" -o "$work/hop.data" > /dev/null 2>&1 &
      perf_pid=$!
      wait "$bench_pid" || true
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      line=$(grep '^RESULT' "$work/hop-bench.out" || echo "RESULT label=$which failed=1")
      measured_pid=$relay_pid
      stop_relay
      perf script -i "$work/hop.data" -F pid,time,trace > "$work/hop.txt" 2>/dev/null
      hop_line=$("$python" Benchmarks/relay-hop.py "$work/hop.txt" "$measured_pid" "$frame_datagram_bytes")
      echo "bench-relay: round $round $line $hop_line" >&2
      hop_p99[$which.$round]=$(field p99_ms "$hop_line")
      table+="
| $which | $round | $(field frames "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field n "$hop_line") | $(field p50_ms "$hop_line") | $(field p90_ms "$hop_line") | $(field p99_ms "$hop_line") | $(field p999_ms "$hop_line") | $(field max_ms "$hop_line") |"
    done
  done
  summary="- relay hop p99, ours / reference: $(paired_ratio hop_p99 ours reference) (QUIC), $(paired_ratio hop_p99 ours-wt reference-wt) (WebTransport)"
  echo "$table"
  echo "$summary"
  if [ $append = 1 ]; then
    {
      section_header "bench-relay, relay hop latency" "Benchmarks/bench-relay.sh --hop --seconds $seconds --rounds $rounds$sockets_option"
      ours_note
      echo "- 1 publisher -> relay -> 1 subscriber, 1 KiB x 100/s (moq-lite-06; -wt rows over WebTransport), a fresh"
      echo "  relay per row. End-to-end: relay-bench's own figures (publish to read, one process). Hop: publisher's"
      echo "  datagram to the relay's datagram of the same frame, both as they enter the loopback device (perf,"
      echo "  net:net_dev_queue), so the load generator's own latency is not in it."
      echo
      echo "$table"
      echo
      echo "$summary"
    } >> docs/benchmarks.md
    echo "bench-relay: appended to docs/benchmarks.md" >&2
  fi
  exit 0
fi
table="| relay | subscribers | frames | round | delivered Mbit/s | lost | p50 ms | p99 ms | p999 ms | relay CPU s | MB per CPU-s | peak RSS MiB |
|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
ratios=""
for n in $subscriber_counts; do
  for scenario in $scenarios; do
    size=${scenario%x*} fps=${scenario#*x}
    [[ "$size" =~ ^[0-9]+$ && "$fps" =~ ^[0-9]+$ ]] || { echo "bench-relay: --frames takes BYTESxFPS, not $scenario" >&2; exit 2; }
    declare -A per_cpu=()
    for round in $(seq "$rounds"); do
      for which in ours ours-wt reference reference-wt; do
        start_relay "${which%-wt}"
        # -wt: the same scenario over WebTransport (https:// on the same UDP port).
        [ "$which" = "${which%-wt}" ] || relay_url=${relay_url/moqt:/https:}
        before=$(cpu_seconds "$relay_pid")
        line=$(timeout $((seconds + 120)) .build/release/relay-bench --relay "$relay_url" --fingerprint "$relay_pin" \
          --subscribers "$n" --frame-size "$size" --fps "$fps" --seconds "$seconds" --label "$which" 2>>"$work/bench.err" \
          | grep '^RESULT' || echo "RESULT label=$which failed=1")
        cpu=$(awk -v a="$(cpu_seconds "$relay_pid")" -v b="$before" 'BEGIN{printf "%.2f", a - b}')
        rss=$(awk -v k="$(peak_rss_kib "$relay_pid")" 'BEGIN{printf "%.1f", k / 1024}')
        stop_relay
        bytes=$(field bytes "$line"); bytes=${bytes:-0}
        mb_per_cpu=$(awk -v b="$bytes" -v c="$cpu" 'BEGIN{ if (c > 0) printf "%.1f", b / 1e6 / c; else print "nan" }')
        per_cpu[$which.$round]=$mb_per_cpu
        echo "bench-relay: round $round $line relay_cpu=$cpu rss_mib=$rss" >&2
        table+="
| $which | $n | $((size / 1024)) KiB x $fps/s | $round | $(awk -v g="$(field gbps "$line")" 'BEGIN{printf "%.1f", g * 1000}') | $(field lost "$line") | $(field p50_ms "$line") | $(field p99_ms "$line") | $(field p999_ms "$line") | $cpu | $mb_per_cpu | $rss |"
      done
    done
    ratios+="- $n subscriber(s), $((size / 1024)) KiB x $fps/s: delivered payload per relay CPU-second, ours / reference = $(paired_ratio per_cpu ours reference) (QUIC), $(paired_ratio per_cpu ours-wt reference-wt) (WebTransport); ours WebTransport / QUIC = $(paired_ratio per_cpu ours-wt ours)
"
  done
done
echo "$table"
printf '%s' "$ratios"
if [ $append = 1 ]; then
  {
    section_header bench-relay "Benchmarks/bench-relay.sh --subscribers \"$subscriber_counts\" --seconds $seconds --rounds $rounds --frames \"$scenarios\"$sockets_option"
    ours_note
    echo "- 1 publisher and N subscriber sessions in one relay-bench process (moq-lite-06, 127.0.0.1; -wt rows over"
    echo "  WebTransport), a fresh relay"
    echo "  per row; relay CPU = utime + stime of the relay process over the run; peak RSS = VmHWM"
    [ "$rounds" = 1 ] || echo "- $rounds rounds alternating ours and the reference; a ratio is the median of the rounds' ratios [each round's]"
    echo
    echo "$table"
    echo
    printf '%s' "$ratios"
  } >> docs/benchmarks.md
  echo "bench-relay: appended to docs/benchmarks.md" >&2
fi
