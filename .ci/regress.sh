#!/usr/bin/env bash
# The golden tests: each tests/regress/sql/NAME.sql is run by PostgreSQL's own
# pg_regress (psql, echoing every line) against the installed extension, and
# its output must equal tests/regress/expected/NAME.out. They run the README's
# SQL examples and raise every error of its errors table, so the README shows
# what the code does; tests/blackbox/readme.rs checks that the README's
# examples and errors table are the ones these files run. The test command
# installs the extension before this runs.
#
#   bash .ci/regress.sh [NAME...]     every file in tests/regress/sql, or those named
#
# A throwaway cluster on 127.0.0.1 (port $COURSENAV_REGRESS_PORT, default
# 54333), started by the test tools' pg-cluster (built first, in release). On a difference it prints the diff, keeps the outputs (copy a
# results/NAME.out over tests/regress/expected/NAME.out once it is right) and
# fails.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
hold_install_lock "$@"
cd "$ROOT"

PG_REGRESS="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress"
[ -x "$PG_REGRESS" ] || { echo "regress.sh: no $PG_REGRESS (apt-get install postgresql-server-dev-15)" >&2; exit 1; }
port="${COURSENAV_REGRESS_PORT:-54333}"
database=coursenav_regress

if [ "$#" -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for file in tests/regress/sql/*.sql; do tests+=("$(basename "$file" .sql)"); done
fi

build_tools
cluster=$(mktemp -d /tmp/cn-regress.XXXXXX)
outputs=$(mktemp -d /tmp/cn-regress-out.XXXXXX)
trap 'pg_cluster stop "$cluster"' EXIT
# Prepared transactions on, so errors.sql shows coursenav refusing to prepare a completion.
pg_cluster start "$cluster" "$port" "fsync = off" "max_prepared_transactions = 2"
# UTF8 (coursenav refuses any other encoding) and the C collation, so ORDER BY
# on text sorts the same on every machine.
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE $database TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"

status=0
"$PG_REGRESS" --use-existing --host=127.0.0.1 --port="$port" --user=postgres \
    --inputdir=tests/regress --outputdir="$outputs" --dbname="$database" "${tests[@]}" \
    | tee "$outputs/summary" || status=$?

# The counts in the form the test command sums (cargo's "test result:" line),
# from pg_regress's own lines ("test NAME ... ok", "... FAILED").
passed=$(grep -c -E '\.\.\. ok ' "$outputs/summary" || true)
failed=$(grep -c -E '\.\.\. FAILED' "$outputs/summary" || true)
if [ "$status" -ne 0 ] || [ "${failed:-0}" -ne 0 ]; then
    [ "${failed:-0}" -ne 0 ] || failed=1
    [ -f "$outputs/regression.diffs" ] && cat "$outputs/regression.diffs"
    echo "regress.sh: outputs kept in $outputs/results"
    echo "test result: FAILED. ${passed:-0} passed; ${failed:-0} failed"
    exit 1
fi
rm -rf "$outputs"
echo "test result: ok. $passed passed; $failed failed"
