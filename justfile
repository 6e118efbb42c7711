# Everyday recipes for swift-moq. `scripts/setup` installs just (PyPI rust-just) and everything else.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build everything in debug.
build:
    swift build

# Start the main job: moq-relay on its defaults (moq-lite UDP 127.0.0.1:4443, HTTP 127.0.0.1:8080,
# generated certificate; the first lines name each listener and the certificate SHA-256).
run *ARGS:
    swift run -c release moq-relay {{ARGS}}

# The QUIC echo server of the foundation (echo protocol, Tests/Peers/README.md).
quic-echo *ARGS:
    swift run -c release quic-echo {{ARGS}}

# Run every test (the test peers come from scripts/setup). Serially: the interop suites start many peer
# processes, and on a 2-core machine running them all at once only measures the scheduler. On failure the
# failed expectations are repeated at the end (the full output is in .build/test-output.log).
test *ARGS:
    swift build --build-tests
    swift test --skip-build --no-parallel {{ARGS}} 2>&1 | tee .build/test-output.log || { \
        echo "== failed tests (full output: .build/test-output.log) =="; \
        grep -E -A2 "✘|recorded an issue" .build/test-output.log | head -80; exit 1; }

# QUIC bulk transfer: ours vs ngtcp2's examples vs aioquic, written to docs/benchmarks.md.
bench-quic *ARGS:
    Benchmarks/bench-quic.sh {{ARGS}}

# moq-lite publisher -> subscriber: direct session vs the reference relay (docs/benchmarks.md).
bench-moq *ARGS:
    Benchmarks/bench-moq.sh {{ARGS}}

# Fan-out through moq-relay vs the reference relay: 1 publisher, N subscribers (docs/benchmarks.md).
# `--rounds 3` alternates the two relays and reports median ratios; also `--idle 1000` (memory per idle
# subscriber), `--syscalls --subscribers 1` (system calls per frame) and `--hop` (the relay's own latency).
bench-relay *ARGS:
    Benchmarks/bench-relay.sh {{ARGS}}

# Three linked nodes: 1 publisher on A, 1,000 subscribers over B and C; added p99 per hop, bytes per link (docs/benchmarks.md).
bench-cluster *ARGS:
    Benchmarks/bench-cluster.sh {{ARGS}}

# NTRIP fan-out: 1 source, 2,000 / 10,000 v1 clients on moq-relay's caster vs str2str's (docs/benchmarks.md).
bench-ntrip *ARGS:
    Benchmarks/bench-ntrip.sh {{ARGS}}

# L7RTCP pulls of 4 KiB chunks with wrk over 64 keep-alive connections vs nginx serving a 4 KiB file (docs/benchmarks.md).
bench-l7rtcp *ARGS:
    Benchmarks/bench-l7rtcp.sh {{ARGS}}

# All benchmarks.
bench: bench-quic bench-moq bench-relay bench-cluster bench-ntrip bench-l7rtcp

# Format the sources with swift format (.swift-format).
fmt:
    swift format format --in-place --recursive Sources Tests examples Benchmarks interop Package.swift

# Check formatting without changing files.
fmt-check:
    swift format lint --recursive Sources Tests examples Benchmarks interop

# The moq-lite interop server on 127.0.0.1:9000 (prints LISTENING <port> <sha256> first; --version 04|05|06, --sessions N).
interop-server *ARGS:
    swift run moq-interop server {{ARGS}}

# The moq-lite interop client: just interop-client --url moqt://127.0.0.1:9000/ --fingerprint <sha256> [--version 06].
interop-client *ARGS:
    swift run moq-interop client {{ARGS}}
