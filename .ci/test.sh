#!/usr/bin/env bash
# Runs every coursenav test on this machine, installing what is missing:
# unit tests and #[pg_test]s (cargo pgrx test), the black-box tests against
# real clusters, and the benchmark once at small sizes so it cannot rot.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
hold_install_lock "$@"
bash "$ROOT/.ci/setup.sh"
cd "$ROOT"

echo "== unit tests and #[pg_test]s"
pgtest_dir=$(mktemp -d /tmp/cn-pgtest.XXXXXX)
trap 'rm -rf "$pgtest_dir"' EXIT
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$pgtest_dir"
    cargo pgrx test pg15 --runas postgres --pgdata "$pgtest_dir/data"
else
    cargo pgrx test pg15
fi

echo "== black-box tests"
install_extension
cargo test --features blackbox --test blackbox -- --test-threads=3

echo "== benchmark smoke run (figures printed, never asserted)"
bash "$ROOT/.ci/bench.sh" --smoke
