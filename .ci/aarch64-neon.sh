#!/usr/bin/env bash
# The engine's aarch64 build (NEON dot kernels) under qemu-user: its unit tests (each NEON kernel
# bit for bit against its scalar reference) and the fixture models against llama.cpp's logits.
#
# Rust's aarch64 standard library comes from Debian (rustc-web and libstd-rust-web-dev:arm64 are
# built from the same source, so they match), since rustup cannot fetch targets here. qemu runs
# with `-L /`, the multiarch libc6:arm64: bookworm's cross libc under /usr/aarch64-linux-gnu makes
# thread creation spin forever under qemu.
#
# Needs root for apt. If the toolchain cannot be installed the check says it was skipped; once
# installed, a failing test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

have_toolchain() {
  command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
    [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib ]
}

install_toolchain() {
  dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    rustc-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
}

if ! have_toolchain; then
  log=$(mktemp)
  if ! install_toolchain >"$log" 2>&1 || ! have_toolchain; then
    echo "skipped: aarch64 NEON tests (could not install the cross toolchain; last lines of the apt log:)"
    tail -5 "$log"
    exit 0
  fi
fi

export RUSTC=/usr/bin/rustc
export CARGO_TARGET_DIR="$PWD/target/aarch64-qemu"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /"
echo "aarch64 under qemu: $("$RUSTC" --version), $(qemu-aarch64 --version | head -1)"
cargo test -p fitbench-engine --release --target aarch64-unknown-linux-gnu \
  --lib --test reference_logits
