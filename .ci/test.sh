#!/usr/bin/env bash
# Runs every coursenav test on this machine, installing what is missing:
# formatting, lints, the core's unit tests, #[pg_test]s (cargo pgrx test), the black-box tests against
# real clusters, and the benchmark once at small sizes so it cannot rot.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
hold_install_lock "$@"
bash "$ROOT/.ci/setup.sh"
cd "$ROOT"

# Every test runner's output is kept, to sum its counts at the end.
results=$(mktemp /tmp/cn-results.XXXXXX)
pgtest_dir=$(mktemp -d /tmp/cn-pgtest.XXXXXX)
trap 'rm -rf "$pgtest_dir" "$results"' EXIT

echo "== formatting (cargo fmt --check)"
cargo fmt --all --check

echo "== lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --features "pg15 pg_test blackbox" -- -D warnings

echo "== unit tests of the core (no PostgreSQL, no pgrx build)"
cargo test -p coursenav-domain -p coursenav-tools --all-features 2>&1 | tee -a "$results"

echo "== #[pg_test]s"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$pgtest_dir"
    cargo pgrx test pg15 --runas postgres --pgdata "$pgtest_dir/data" 2>&1 | tee -a "$results"
else
    cargo pgrx test pg15 2>&1 | tee -a "$results"
fi

echo "== black-box tests"
install_extension
cargo test --features blackbox --test blackbox -- --test-threads=3 2>&1 | tee -a "$results"

echo "== golden tests of the README's SQL (pg_regress)"
bash "$ROOT/.ci/regress.sh" 2>&1 | tee -a "$results"

echo "== benchmark smoke run (figures printed, never asserted)"
bash "$ROOT/.ci/bench.sh" --smoke

# One closing line for all the runners above (the benchmark asserts nothing).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$results"
