#!/usr/bin/env bash
# Runs every cargo-fuzz target in turn for $1 seconds each (default 60).
# Extra arguments go to libFuzzer, e.g. `./run.sh 300 -max_len=65536`.
# Set FUZZ_SANITIZER=none if the address sanitizer does not build on your toolchain.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
shift || true

# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets a stable toolchain accept them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

sanitizer=()
if [[ -n "${FUZZ_SANITIZER:-}" ]]; then
    sanitizer=(-s "$FUZZ_SANITIZER")
fi

failed=()
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    dirs=("corpus/$target")
    [[ -d "seeds/$target" ]] && dirs+=("seeds/$target")
    echo "=== $target: ${secs}s ==="
    if ! cargo fuzz run "${sanitizer[@]}" "$target" "${dirs[@]}" -- \
        -max_total_time="$secs" "$@"; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "crashes in: ${failed[*]} (inputs under artifacts/)" >&2
    exit 1
fi
echo "all targets ran ${secs}s without a crash"
