#!/usr/bin/env bash
# bench-quic.sh: single-connection QUIC bulk-transfer throughput on loopback, three stacks side by side.
#
#   ours     quic-perf client -> quic-perf server            (our Swift stack: ngtcp2 + GnuTLS + SwiftNIO)
#   ngtcp2   gtlsclient GET <- gtlsserver serving a file     (ngtcp2 1.x's own HTTP/3 examples, GnuTLS)
#   aioquic  aioquic_bulk.py client -> aioquic_bulk.py server (pure Python anchor; smaller byte count)
#
# Every scenario runs --runs times; the rounds are interleaved (ours, ngtcp2, aioquic, ours, ...) so
# that background noise spreads over all stacks. The script prints a markdown table and appends a dated
# section to docs/benchmarks.md. `Benchmarks/bench-quic.sh --help` lists the options.
#
# How each figure is measured:
#   seconds   ours and aioquic: the client's own timer (stream opened -> byte count answered by the
#             server), from its RESULT line. ngtcp2: wall time of the whole gtlsclient process (it
#             prints no timing), which also counts its start-up, handshake and request: a few ms.
#   MB/s      bytes / seconds / 10^6.
#   CPU       user + system seconds of each process, from GNU time wrapped around it (start-up included),
#             divided by the GiB transferred.
#
# Direction: ours and aioquic upload (client -> server); ngtcp2's examples download (server -> client),
# because gtlsserver only serves files. Either way one QUIC stream carries the bytes one way.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# ------------------------------------------------------------------------------------------------
# Options

BYTES=$((1 << 30))             # bytes per transfer for ours and ngtcp2
AIOQUIC_BYTES=$((100 << 20))   # bytes per transfer for aioquic (~20 MB/s, so less)
RUNS=3
BUILD=1
APPEND=1
TIMEOUT=120                    # seconds; bound on every process
KEEP_LOGS=0
DOC="docs/benchmarks.md"
QUIC_PERF=".build/release/quic-perf"
PYTHON=".venv/bin/python"
GTLSSERVER="/usr/sbin/gtlsserver"
GTLSCLIENT="/usr/bin/gtlsclient"
GNU_TIME="/usr/bin/time"

COMMAND_LINE="$(printf '%q ' "${BASH_SOURCE[0]#"$REPO_ROOT"/}" "$@")"
COMMAND_LINE="${COMMAND_LINE% }"

usage() {
    cat <<EOF
Usage: Benchmarks/bench-quic.sh [OPTIONS]        (or: just bench-quic [OPTIONS])

Single-connection QUIC bulk transfer on 127.0.0.1, three stacks:
  ours     .build/release/quic-perf client -> server (one bidirectional stream, upload)
  ngtcp2   gtlsclient downloads one file from gtlsserver (ngtcp2's HTTP/3 examples, GnuTLS)
  aioquic  Tests/Peers/aioquic_bulk.py client -> server (pure Python, about 20 MB/s)
Prints a markdown table (median MB/s and all runs, CPU seconds per GiB for client and server) and the
ratio ours / ngtcp2 (target: >= 0.9, and ours >= 600 MB/s), and appends it to $DOC.

Options:
  --bytes N            bytes per transfer for ours and ngtcp2 (default $BYTES = 1 GiB)
  --aioquic-bytes N    bytes per transfer for aioquic (default $AIOQUIC_BYTES = 100 MiB; 0 skips aioquic)
  --runs N             transfers per stack; the table reports the median MB/s (default $RUNS)
  --no-build           do not run 'swift build -c release --product quic-perf' first
  --no-append          print the table only; leave $DOC alone
  --timeout S          upper bound in seconds on each process of a transfer (default $TIMEOUT)
  --keep-logs          keep the temporary directory with every process's output
  -h, --help           show this help

Sizes are plain byte counts (e.g. --bytes 268435456 for 256 MiB). Numbers are noisy on a busy machine:
compare runs made back to back, and look at the ratio rather than the absolute MB/s.
EOF
}

die() { echo "bench-quic: $*" >&2; exit 1; }
log() { echo "bench-quic: $*" >&2; }

is_count() { [[ $1 =~ ^[0-9]+$ ]]; }

while (($#)); do
    case $1 in
        --bytes) (($# >= 2)) || die "--bytes needs a value"; BYTES=$2; shift 2 ;;
        --bytes=*) BYTES=${1#*=}; shift ;;
        --aioquic-bytes) (($# >= 2)) || die "--aioquic-bytes needs a value"; AIOQUIC_BYTES=$2; shift 2 ;;
        --aioquic-bytes=*) AIOQUIC_BYTES=${1#*=}; shift ;;
        --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --timeout) (($# >= 2)) || die "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --no-build) BUILD=0; shift ;;
        --no-append) APPEND=0; shift ;;
        --keep-logs) KEEP_LOGS=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
is_count "$BYTES" && ((BYTES > 0)) || die "--bytes must be a positive byte count, got '$BYTES'"
is_count "$AIOQUIC_BYTES" || die "--aioquic-bytes must be a byte count, got '$AIOQUIC_BYTES'"
is_count "$RUNS" && ((RUNS > 0)) || die "--runs must be a positive integer, got '$RUNS'"
is_count "$TIMEOUT" && ((TIMEOUT > 0)) || die "--timeout must be a positive number of seconds, got '$TIMEOUT'"

STACKS=(ours ngtcp2)
((AIOQUIC_BYTES > 0)) && STACKS+=(aioquic)

# ------------------------------------------------------------------------------------------------
# Prerequisites

for tool in "$GTLSSERVER" "$GTLSCLIENT" "$GNU_TIME"; do
    [[ -x $tool ]] || die "$tool is missing (run scripts/setup)"
done
for tool in openssl timeout truncate mkfifo wc awk; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
if ((AIOQUIC_BYTES > 0)); then
    [[ -x $PYTHON ]] || die "$PYTHON is missing (run scripts/setup)"
    "$PYTHON" -c 'import aioquic' 2>/dev/null || die "aioquic is not installed in .venv (run scripts/setup)"
fi

if ((BUILD)); then
    log "building quic-perf (release)"
    swift build -c release --product quic-perf >&2
fi
[[ -x $QUIC_PERF ]] || die "$QUIC_PERF is missing (drop --no-build)"

# ------------------------------------------------------------------------------------------------
# Process bookkeeping: every background process is recorded and killed (with its children) on exit.

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-quic.XXXXXX")"
BG_PIDS=()

# Sends a signal to a process and, first, to all of its descendants (deepest first).
kill_tree() {
    local signal=$1 pid=$2 child
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do kill_tree "$signal" "$child"; done
    kill "-$signal" "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? pid
    for pid in "${BG_PIDS[@]}"; do kill_tree KILL "$pid"; done
    wait 2>/dev/null || true
    if ((KEEP_LOGS)); then
        log "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a server in the background under GNU time and timeout:
#   start_bg NAME CMD...   stdout -> $WORK/NAME.out, stderr -> NAME.err, "wall user sys" -> NAME.time
# Sets BG_PID to the pid of the time wrapper. time -> timeout -> CMD: the rusage time reports covers
# timeout's waited-for child, i.e. CMD (timeout's own share is negligible). Servers get 15 s more than
# clients, so that a stuck transfer is reported by its client.
start_bg() {
    local name=$1
    shift
    "$GNU_TIME" -o "$WORK/$name.time" -f '%e %U %S' timeout -k 5 $((TIMEOUT + 15)) "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# Runs a client in the foreground the same way (with --timeout); returns its exit status. Sets FG_SECONDS to its wall
# time, measured with the shell's clock (GNU time's %e has only 10 ms resolution).
run_fg() {
    local name=$1 status=0 start
    shift
    start=$EPOCHREALTIME
    "$GNU_TIME" -o "$WORK/$name.time" -f '%e %U %S' timeout -k 5 "$TIMEOUT" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || status=$?
    FG_SECONDS=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')
    return "$status"
}

# Waits for a background process to exit (its own timeout bounds the wait); returns its exit status.
wait_bg() {
    local pid=$1 deadline=$((SECONDS + TIMEOUT + 30))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || { kill_tree KILL "$pid"; break; }
        sleep 0.05
    done
    wait "$pid"
}

# Asks a background process started by start_bg to stop: the signal goes to timeout (the child of the
# time wrapper), which forwards it to the command.
stop_bg() {
    local signal=$1 pid=$2 child
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do kill "-$signal" "$child" 2>/dev/null || true; done
}

# CPU seconds (user + system) from a NAME.time file (its last line; GNU time may add a signal note).
cpu_of() { tail -n 1 "$WORK/$1.time" | awk '{ printf "%.3f", $2 + $3 }'; }

# Value of KEY=VALUE in a line such as "RESULT bytes=1 seconds=2".
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

# Waits for "READY <port> ..." on a background process's stdout; prints the port.
wait_ready() {
    local name=$1 pid=$2 deadline=$((SECONDS + 30)) line
    while ((SECONDS < deadline)); do
        line=$(grep -m 1 '^READY ' "$WORK/$name.out" 2>/dev/null || true)
        if [[ -n $line ]]; then
            awk '{ print $2 }' <<<"$line"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    fail "$name did not print READY" "$name"
}

# Waits until something is bound to UDP 127.0.0.1:PORT (gtlsserver prints nothing when it is ready).
wait_udp_bound() {
    local name=$1 port=$2 pid=$3 hex deadline=$((SECONDS + 30))
    hex=$(printf '0100007F:%04X' "$port")
    while ((SECONDS < deadline)); do
        grep -q " $hex " /proc/net/udp && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    fail "gtlsserver did not bind 127.0.0.1:$port" "$name"
}

# A free UDP port on 127.0.0.1 (for gtlsserver, which cannot bind port 0 and report it).
free_udp_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        grep -q "$(printf ':%04X ' "$port")" /proc/net/udp /proc/net/udp6 2>/dev/null || { echo "$port"; return 0; }
    done
    die "no free UDP port found"
}

# "exited with status N", or "timed out" for timeout's status 124.
status_text() {
    case $1 in
        124) echo "timed out after --timeout $TIMEOUT s" ;;
        137) echo "was killed after timing out" ;;
        *) echo "exited with status $1" ;;
    esac
}

# Prints the tails of the named logs and exits.
fail() {
    local message=$1 name
    shift
    echo "bench-quic: FAILED: $message" >&2
    for name in "$@"; do
        for ext in out err time; do
            [[ -s $WORK/$name.$ext ]] || continue
            echo "--- $name.$ext (tail)" >&2
            tail -n 15 "$WORK/$name.$ext" >&2
        done
    done
    exit 1
}

# ------------------------------------------------------------------------------------------------
# Fixtures: a self-signed certificate (gtlsserver, aioquic) and the file gtlsserver serves.

log "work directory: $WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 || die "openssl could not make a certificate"

# A sparse file: no disk writes. gtlsserver mmaps it; reading it once puts its (zero) pages in the page
# cache, so that no transfer pays for the page faults of the first read.
HTDOCS="$WORK/htdocs"
mkdir -p "$HTDOCS"
truncate -s "$BYTES" "$HTDOCS/blob"
cat "$HTDOCS/blob" >/dev/null

# ------------------------------------------------------------------------------------------------
# One transfer per stack. Each sets RUN_SECONDS, RUN_CLIENT_CPU, RUN_SERVER_CPU, or exits via fail.

run_ours() {
    local tag=$1 port line server status=0
    start_bg "$tag-server" "$QUIC_PERF" server --listen 127.0.0.1:0 --connections 1
    server=$BG_PID
    port=$(wait_ready "$tag-server" "$server")
    run_fg "$tag-client" "$QUIC_PERF" client --connect "127.0.0.1:$port" --bytes "$BYTES" || status=$?
    ((status == 0)) || fail "quic-perf client $(status_text $status)" "$tag-client" "$tag-server"
    wait_bg "$server" || fail "quic-perf server $(status_text $?)" "$tag-server"
    line=$(grep -m 1 '^RESULT ' "$WORK/$tag-client.out") || fail "no RESULT line" "$tag-client"
    [[ $(field bytes "$line") == "$BYTES" ]] || fail "RESULT has the wrong byte count" "$tag-client"
    grep -q '^SERVED connection=1 ' "$WORK/$tag-server.out" || fail "server did not report SERVED" "$tag-server"
    RUN_SECONDS=$(field seconds "$line")
    RUN_CLIENT_CPU=$(cpu_of "$tag-client")
    RUN_SERVER_CPU=$(cpu_of "$tag-server")
}

# gtlsclient options: -q (no per-packet logging: without it the client is I/O bound on its own debug
# output) and --exit-on-all-streams-close (otherwise it idles until --timeout). No --download: the
# body is consumed and discarded in memory, which is the fastest correct choice (even a --download
# directory whose file is a symlink to /dev/null costs one write(2) per packet, ~0.3 s of system CPU
# per GiB). The byte count is checked once per script run by check_ngtcp2 below.
GTLSCLIENT_OPTS=(-q --exit-on-all-streams-close)

start_gtlsserver() {
    local tag=$1 port
    port=$(free_udp_port)
    start_bg "$tag-server" "$GTLSSERVER" -q -d "$HTDOCS" 127.0.0.1 "$port" "$WORK/key.pem" "$WORK/cert.pem"
    wait_udp_bound "$tag-server" "$port" "$BG_PID"
    NGTCP2_PORT=$port
}

stop_gtlsserver() {
    local tag=$1 server=$2
    stop_bg INT "$server"   # gtlsserver exits cleanly on SIGINT
    wait_bg "$server" || fail "gtlsserver $(status_text $?)" "$tag-server"
}

run_ngtcp2() {
    local tag=$1 server status=0
    start_gtlsserver "$tag"
    server=$BG_PID
    run_fg "$tag-client" "$GTLSCLIENT" "${GTLSCLIENT_OPTS[@]}" 127.0.0.1 "$NGTCP2_PORT" \
        "https://127.0.0.1:$NGTCP2_PORT/blob" || status=$?
    ((status == 0)) || fail "gtlsclient $(status_text $status)" "$tag-client" "$tag-server"
    stop_gtlsserver "$tag" "$server"
    RUN_SECONDS=$FG_SECONDS
    RUN_CLIENT_CPU=$(cpu_of "$tag-client")
    RUN_SERVER_CPU=$(cpu_of "$tag-server")
}

# An untimed download that counts the bytes: --download into a directory whose "blob" is a FIFO read
# by wc -c. Proves that gtlsserver serves the whole file and gtlsclient receives all of it with the
# options above (in quiet mode gtlsclient reports nothing, and it exits 0 even if a stream is reset).
check_ngtcp2() {
    local tag=ngtcp2-check server status=0 counted
    mkdir -p "$WORK/download"
    mkfifo "$WORK/download/blob"
    timeout "$TIMEOUT" wc -c <"$WORK/download/blob" >"$WORK/$tag-count.out" &
    BG_PIDS+=($!)
    local counter=$!
    start_gtlsserver "$tag"
    server=$BG_PID
    run_fg "$tag-client" "$GTLSCLIENT" "${GTLSCLIENT_OPTS[@]}" --download="$WORK/download" \
        127.0.0.1 "$NGTCP2_PORT" "https://127.0.0.1:$NGTCP2_PORT/blob" || status=$?
    ((status == 0)) || fail "gtlsclient $(status_text $status)" "$tag-client" "$tag-server"
    stop_gtlsserver "$tag" "$server"
    wait "$counter" || fail "could not count the downloaded bytes" "$tag-client" "$tag-server"
    counted=$(tr -d ' \n' <"$WORK/$tag-count.out")
    [[ $counted == "$BYTES" ]] || fail "gtlsclient received $counted bytes, expected $BYTES" "$tag-client" "$tag-server"
    log "ngtcp2 check: gtlsclient received all $counted bytes (${FG_SECONDS}s including the FIFO)"
}

run_aioquic() {
    local tag=$1 port line server status=0
    local peer="Tests/Peers/aioquic_bulk.py"
    start_bg "$tag-server" "$PYTHON" "$peer" server --cert "$WORK/cert.pem" --key "$WORK/key.pem" \
        --port 0 --alpn bulk --ignore-stdin --timeout "$TIMEOUT"
    server=$BG_PID
    port=$(wait_ready "$tag-server" "$server")
    run_fg "$tag-client" "$PYTHON" "$peer" client --port "$port" --bytes "$AIOQUIC_BYTES" --insecure \
        --alpn bulk --ignore-stdin --timeout "$TIMEOUT" || status=$?
    ((status == 0)) || fail "aioquic client $(status_text $status)" "$tag-client" "$tag-server"
    stop_bg TERM "$server"   # the peer exits cleanly on SIGTERM
    wait_bg "$server" || fail "aioquic server $(status_text $?)" "$tag-server"
    line=$(grep -m 1 '^RESULT ' "$WORK/$tag-client.out") || fail "no RESULT line" "$tag-client"
    [[ $(field bytes "$line") == "$AIOQUIC_BYTES" ]] || fail "RESULT has the wrong byte count" "$tag-client"
    RUN_SECONDS=$(field seconds "$line")
    RUN_CLIENT_CPU=$(cpu_of "$tag-client")
    RUN_SERVER_CPU=$(cpu_of "$tag-server")
}

# ------------------------------------------------------------------------------------------------
# The runs. Results go to $WORK/results.tsv: stack run bytes seconds mbps client_cpu server_cpu.

declare -A STACK_BYTES=([ours]=$BYTES [ngtcp2]=$BYTES [aioquic]=$AIOQUIC_BYTES)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

check_ngtcp2

for ((run = 1; run <= RUNS; run++)); do
    for stack in "${STACKS[@]}"; do
        "run_$stack" "$stack-$run"
        bytes=${STACK_BYTES[$stack]}
        mbps=$(awk -v b="$bytes" -v s="$RUN_SECONDS" 'BEGIN { printf "%.1f", b / s / 1e6 }')
        printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$stack" "$run" "$bytes" "$RUN_SECONDS" "$mbps" \
            "$RUN_CLIENT_CPU" "$RUN_SERVER_CPU" >>"$RESULTS"
        log "run $run/$RUNS $stack: $bytes bytes in ${RUN_SECONDS}s = $mbps MB/s," \
            "cpu client ${RUN_CLIENT_CPU}s server ${RUN_SERVER_CPU}s"
    done
done

# ------------------------------------------------------------------------------------------------
# Summary

# Median of the numbers on stdin (mean of the middle two for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
median3() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Column N of the result rows of one stack.
column_of() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$RESULTS"; }

# CPU seconds per GiB of one result column (6: client, 7: server, 0: both) for each run of a stack.
cpu_per_gib() {
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s {
        cpu = (c == 0) ? $6 + $7 : $c
        print cpu / ($3 / 1073741824)
    }' "$RESULTS"
}

human_bytes() {
    awk -v b="$1" 'BEGIN {
        if (b % 1073741824 == 0) printf "%d GiB", b / 1073741824
        else if (b % 1048576 == 0) printf "%d MiB", b / 1048576
        else printf "%d B", b
    }'
}

declare -A LABEL=(
    [ours]="ours (quic-perf)"
    [ngtcp2]="ngtcp2 example (gtlsserver → gtlsclient, HTTP/3)"
    [aioquic]="aioquic (aioquic_bulk.py, pure Python)"
)
declare -A MEDIAN
TABLE="| stack | bytes | MB/s median | MB/s runs | CPU s/GiB client | CPU s/GiB server | CPU s/GiB total |
|---|---|---:|---|---:|---:|---:|"
for stack in "${STACKS[@]}"; do
    MEDIAN[$stack]=$(column_of "$stack" 5 | median)
    runs=$(column_of "$stack" 5 | paste -sd ' ' | sed 's/ /, /g')
    TABLE+="
| ${LABEL[$stack]} | $(human_bytes "${STACK_BYTES[$stack]}") | ${MEDIAN[$stack]} | $runs | $(cpu_per_gib "$stack" 6 | median3) | $(cpu_per_gib "$stack" 7 | median3) | $(cpu_per_gib "$stack" 0 | median3) |"
done

RATIO=$(awk -v a="${MEDIAN[ours]}" -v b="${MEDIAN[ngtcp2]}" 'BEGIN { printf "%.2f", a / b }')
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { print (x >= t) ? "met" : "not met" }'; }
SUMMARY="**ours / ngtcp2 example = ${RATIO}** (median MB/s ${MEDIAN[ours]} / ${MEDIAN[ngtcp2]}). \
Targets: ratio >= 0.9 — $(verdict "$RATIO" 0.9); ours >= 600 MB/s — $(verdict "${MEDIAN[ours]}" 600)."

CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEMORY=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
MACHINE="$(nproc) CPUs (${CPU_MODEL:-unknown model}), $MEMORY RAM, Linux $(uname -r)"
NGTCP2_VERSION=$(dpkg-query -W -f '${Version}' ngtcp2-client 2>/dev/null || echo unknown)
REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || REVISION+=" + uncommitted changes"
LOAD=$(cut -d ' ' -f 1-3 /proc/loadavg)

SECTION="## $(date -u '+%Y-%m-%d %H:%M UTC') — bench-quic

- command: \`$COMMAND_LINE\`
- machine: $MACHINE; load average after the runs: $LOAD
- source: $REVISION; ngtcp2 examples $NGTCP2_VERSION
- $RUNS run(s) per stack, interleaved; one connection, one stream, 127.0.0.1

$TABLE

$SUMMARY
"

echo
echo "$SECTION"

if ((APPEND)); then
    if [[ ! -f $DOC ]]; then
        cat >"$DOC" <<'EOF'
# Benchmarks

Results of `just bench-quic` (`Benchmarks/bench-quic.sh`), newest last. Each section was appended by the
script: the command, the machine, and one table.

What is measured: one QUIC connection on 127.0.0.1 moving a fixed number of bytes on one stream.
- **ours**: `quic-perf client` uploads to `quic-perf server` (our Swift stack on ngtcp2 + GnuTLS).
- **ngtcp2 example**: `gtlsclient -q` downloads a file from `gtlsserver -q` (ngtcp2's own HTTP/3
  examples, Debian's ngtcp2-client/ngtcp2-server packages). The reference point.
- **aioquic**: the pure-Python `Tests/Peers/aioquic_bulk.py` pair, with fewer bytes (it runs at ~20 MB/s).

MB/s is 10^6 bytes per second: the client's own timer for ours and aioquic, the gtlsclient process's wall
time for ngtcp2 (which adds its start-up and handshake, a few ms). CPU s/GiB is user + system CPU seconds
of each process (GNU time, start-up included) per GiB moved; "total" is client + server. The figure that
matters is the ratio ours / ngtcp2 example: target >= 0.9, with ours >= 600 MB/s.

Loopback numbers on a small shared machine are noisy (both processes compete for the same cores):
compare sections made on the same machine, and prefer the medians.
EOF
    fi
    printf '\n%s' "$SECTION" >>"$DOC"
    log "appended the results to $DOC"
fi
