#!/usr/bin/env bash
# Runs Ember's whole test suite on a fresh machine: installs the Debian packages the tests use,
# builds the default guest (cached), sets up podman and containerd and builds the container images
# (cached), then runs every Maven test, end-to-end boots and containers included (and with them the
# replay of every fuzz target's checked-in inputs), then fuzzes every target for a bounded time
# (EMBER_FUZZ_SECONDS each, 4 by default, 0 skips it; docs/fuzzing.md).
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

find_java25
say "checking Debian packages for the tests..."
ensure_packages maven binutils-riscv64-linux-gnu gcc-riscv64-linux-gnu device-tree-compiler opensbi bubblewrap
say "building the default guest (cached after the first run)..."
"$EMBER_ROOT/guest/build.sh" >&2
say "setting up podman and containerd for the container tests (scripts/container-tools.sh)..."
"$EMBER_ROOT/scripts/container-tools.sh" >&2
say "building the riscv64 container images from Debian packages (cached after the first run)..."
"$EMBER_ROOT/scripts/container-images.sh" >&2
# the container tests run the real ./ember-oci launcher, which needs the jars before Maven's own
# package phase (after the tests) makes them
build_jars
# podman and ctr in the tests use this store, configuration and containerd socket
eval "$("$EMBER_ROOT/scripts/container-tools.sh" env)"
say "running the Maven test suite (unit tests, then end-to-end boots)..."
cd "$EMBER_ROOT"
mvn -B -ntp "$@" verify
# After verify: a known regression fails above with a JUnit report, and this reuses its classes.
if [ "${EMBER_FUZZ_SECONDS:-4}" != 0 ]; then
    say "fuzzing every target for ${EMBER_FUZZ_SECONDS:-4}s each (./ember fuzz all)..."
    "$EMBER_ROOT/scripts/fuzz.sh" all --seconds "${EMBER_FUZZ_SECONDS:-4}"
fi
