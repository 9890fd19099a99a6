#!/usr/bin/env bash
# Runs Ember's whole test suite on a fresh machine: installs the Debian packages the tests use,
# builds the default guest (cached), then runs every Maven test, end-to-end boots included.
set -euo pipefail
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

find_java25
say "checking Debian packages for the tests..."
ensure_packages maven binutils-riscv64-linux-gnu gcc-riscv64-linux-gnu device-tree-compiler opensbi
say "building the default guest (cached after the first run)..."
"$EMBER_ROOT/guest/build.sh" >&2
say "running the Maven test suite (unit tests, then end-to-end boots)..."
cd "$EMBER_ROOT"
exec mvn -B -ntp "$@" verify
