# Sourced by the Benchmarks/bench-*.sh scripts: how a section of docs/benchmarks.md names when, how and
# where its numbers were measured.

# The machine: CPUs and model, RAM, kernel.
machine_description() {
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB RAM, Linux $(uname -r)"
}

# The commit measured, and whether the working tree differed from it.
source_revision() {
  echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Benchmarks Package.swift || echo ' + uncommitted changes')"
}

# section_header TITLE COMMAND [MACHINE_NOTE]: a section's heading and its command, machine and source lines.
section_header() {
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $1"
  echo
  echo "- command: \`$2\`"
  echo "- machine: $(machine_description)${3:+; $3}"
  echo "- source: $(source_revision)"
}
