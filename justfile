# Everyday recipes for swift-moq. `scripts/setup` installs just (PyPI rust-just) and everything else.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build everything in debug.
build:
    swift build

# Start the main job: a QUIC echo server on 127.0.0.1:4443 (generated certificate; prints its SHA-256).
run *ARGS:
    swift run -c release quic-echo {{ARGS}}

# Run every test (the test peers come from scripts/setup).
test *ARGS:
    swift build --build-tests
    swift test --skip-build {{ARGS}}

# QUIC bulk transfer: ours vs ngtcp2's examples vs aioquic, written to docs/benchmarks.md.
bench-quic *ARGS:
    Benchmarks/bench-quic.sh {{ARGS}}

# All benchmarks.
bench: bench-quic

# Format the sources with swift format (.swift-format).
fmt:
    swift format format --in-place --recursive Sources Tests examples Benchmarks interop Package.swift

# Check formatting without changing files.
fmt-check:
    swift format lint --recursive Sources Tests examples Benchmarks interop

# The echo server the interop peers talk to (moq-interop arrives with the moq-lite layer).
interop-server *ARGS:
    swift run quic-echo {{ARGS}}

# aioquic's echo client against interop-server.
interop-client PORT="4443" *ARGS:
    .venv/bin/python Tests/Peers/aioquic_echo.py client --port {{PORT}} --insecure --ignore-stdin {{ARGS}}
