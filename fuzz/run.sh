#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) on the stable toolchain.
# Replays the saved inputs first (tests/regressions.rs). Fails on the first
# crash, after copying the crashing input to core/tests/fuzz_regressions/<target>/
# so that tests/regressions.rs replays it from then on.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-20}
shift || true

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes nightly-only flags (-Z...) to rustc: RUSTC_BOOTSTRAP lets the
# stable compiler accept them. `-s none` skips AddressSanitizer: the core forbids
# unsafe code (but masking's), and without ASan the fuzzers run about twice as fast.
export RUSTC_BOOTSTRAP=1

# Every saved crash and seed through its target's check first (a dev build, so
# debug assertions are on as in the fuzzers): a fixed bug that came back fails here.
echo "=== replay core/tests/fuzz_regressions and corpus through each target's check"
nice -n 19 cargo test --test regressions
fuzz=(nice -n 19 cargo fuzz)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list)

"${fuzz[@]}" build -s none
for target in "${targets[@]}"; do
    echo "=== fuzz $target for ${seconds}s"
    # Seeds stay read-only in corpus/<target>; new finds go to a scratch folder.
    work=$(mktemp -d)
    status=0
    "${fuzz[@]}" run -s none "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 \
        >"$work.log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)' "$work.log" || true
    if [ "$status" -ne 0 ]; then
        grep -m1 -A12 panicked "$work.log" || tail -n 40 "$work.log"
        grep -A3 "^Reproduce with" "$work.log" || true
        mkdir -p "../core/tests/fuzz_regressions/$target"
        for crash in artifacts/"$target"/*; do
            [ -e "$crash" ] || continue
            cp "$crash" "../core/tests/fuzz_regressions/$target/"
            echo "saved core/tests/fuzz_regressions/$target/$(basename "$crash")"
        done
        echo "fuzz target $target failed (exit $status)"
        exit 1
    fi
    rm -rf "$work" "$work.log"
done
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash"
