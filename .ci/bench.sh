#!/usr/bin/env bash
# The coursenav benchmark: navigation reads, rebuilds and reads under writes,
# beside their peers, catalog syncs against a local fake catalog, and the Open
# edX Demo Course, in one run on a throwaway cluster. Prints one table.
#
#   bash .ci/bench.sh            full run (about 11 minutes on 2 cores); builds and installs
#                                the release extension first
#   bash .ci/bench.sh --smoke    small sizes, a few seconds per step (about a minute
#                                and a half); uses the extension already installed
#   --install / --no-install     override whether the extension is installed first
#
# Targets are printed as met / NOT MET and never fail the run; any step that
# errors does. The generator and the peers are in tests/bench/. The clusters,
# the fake catalog and the Demo Course's converter are the test tools' binaries
# (tests/tools: pg-cluster, fake-catalog, olx-course-blocks), built once in release (honouring
# CARGO_TARGET_DIR); without ../shared/fixtures the Demo Course rows say "not measured".
#
# Installing replaces files other checkouts use, so the whole run holds
# /tmp/coursenav-install.lock. A caller that already holds it sets
# COURSENAV_INSTALL_LOCK_HELD=1. BENCH_PORT picks the port (default 54330).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

hold_install_lock "$@"

BENCH="$ROOT/tests/bench"
MODE=full
INSTALL=""
for arg in "$@"; do
    case "$arg" in
    --smoke) MODE=smoke ;;
    --install) INSTALL=yes ;;
    --no-install) INSTALL=no ;;
    *) echo "usage: bash .ci/bench.sh [--smoke] [--install|--no-install]" >&2; exit 2 ;;
    esac
done

# Sizes and durations. Each target is checked at the size given for its role
# (in a smoke run, the smoke sizes stand in for the real ones).
READERS=8
CLIENTS=(1 2 8)
if [ "$MODE" = full ]; then
    READ_SIZES=(3539 20000 100000)     # navigation reads, against the peers
    READ_TARGET_SIZES=(3539 20000)     # where the read targets apply
    REBUILD_SIZES=(3539 10000 20000 100000)
    REBUILD_SMALL=3539 REBUILD_LARGE=100000 GROWTH_FROM=10000 MEMORY_SIZE=100000
    REBUILD_RUNS=5
    SMALL_COURSES=1000 SMALL_BLOCKS=150
    READ_ROUNDS=2 READ_SECONDS=5 WRITES_SECONDS=20 WRITES_SIZE=3539
    CATALOG_SMALL=3200 CATALOG_LARGE=100000 CATALOG_RUNS=3 CATALOG_SMALL_MAX_KB=8192
    DEMO_CLIENTS=(1 2 8) DEMO_REBUILD_RUNS=9
    STANDBY_BUMPS=200 STANDBY_CLIENTS=(1 8)
    [ -n "$INSTALL" ] || INSTALL=yes
else
    READ_SIZES=(300 2000)
    READ_TARGET_SIZES=(300 2000)
    REBUILD_SIZES=(200 300 2000)
    REBUILD_SMALL=300 REBUILD_LARGE=2000 GROWTH_FROM=200 MEMORY_SIZE=2000
    REBUILD_RUNS=3
    SMALL_COURSES=10 SMALL_BLOCKS=150
    READ_ROUNDS=1 READ_SECONDS=2 WRITES_SECONDS=3 WRITES_SIZE=300
    CATALOG_SMALL=300 CATALOG_LARGE=2000 CATALOG_RUNS=3 CATALOG_SMALL_MAX_KB=1024
    DEMO_CLIENTS=(1 8) DEMO_REBUILD_RUNS=5
    STANDBY_BUMPS=20 STANDBY_CLIENTS=(8)
    [ -n "$INSTALL" ] || INSTALL=no
fi

PORT="${BENCH_PORT:-54330}"
CLUSTER="/tmp/coursenav-bench-$PORT"
STANDBY_PORT=$((PORT + 1))
STANDBY="/tmp/coursenav-bench-$STANDBY_PORT"
WORK="$(mktemp -d /tmp/coursenav-bench-work.XXXXXX)"
PSQL=(psql -X -q -h "$CLUSTER" -p "$PORT" -U postgres -d postgres)
CATALOG_PAGE_SIZE=100
CATALOG_TOKEN=bench-token
CATALOG_PID=""
DEMO_COURSE=course-v1:OpenedX+DemoX+DemoCourse
DEMO_FIXTURE="$ROOT/../shared/fixtures/openedx-demo-course-olx.tar.gz"
export PGOPTIONS="-c client_min_messages=warning"

say() { echo "bench [$(date -u +%T), ${SECONDS}s]: $*" >&2; }

cleanup() {
    stop_catalog
    # Before tools there is no pg-cluster yet, and no cluster either.
    pg_cluster stop "$STANDBY" || true
    pg_cluster stop "$CLUSTER" || true
    rm -rf "$WORK"
}

course_key() { echo "course-v1:BenchX+N$1+2025"; }

# A psql that stops at the first error, so any failed step fails the run.
sql() { "${PSQL[@]}" -v ON_ERROR_STOP=1 "$@"; }

install() {
    if [ "$INSTALL" = yes ]; then
        say "building and installing the release extension"
        (cd "$ROOT" && install_extension --release) >"$WORK/install.log" 2>&1 ||
            { cat "$WORK/install.log" >&2; return 1; }
    fi
    local library
    library="$(pg_config --pkglibdir)/coursenav.so"
    say "using $(date -r "$library" +%FT%T) $library"
}

# The cluster harness, the fake catalog and the OLX converter the black-box tests use, as programs.
tools() {
    say "building the test tools (cargo build --release -p coursenav-tools)"
    build_tools
}

# A fresh cluster (pg-cluster stops and removes one an interrupted run left).
start() {
    # jit off: JIT compiling would only slow the peers' aggregate queries.
    # Large WAL: no checkpoint in the middle of a timed rebuild.
    # track_commit_timestamp: the standby step times each bump from its commit.
    pg_cluster start "$CLUSTER" "$PORT" "shared_buffers = '512MB'" "max_wal_size = '8GB'" \
        "checkpoint_timeout = '30min'" "jit = off" "track_commit_timestamp = on"
    sql -c "CREATE EXTENSION coursenav" -f "$BENCH/generate_course.sql" -f "$BENCH/peers.sql" \
        -f "$BENCH/report.sql" >/dev/null
}

# Many small courses around the measured ones, so no lookup runs on a
# one-row table, then the measured courses' documents, generated once.
setup() {
    say "generating and rebuilding $SMALL_COURSES small courses of $SMALL_BLOCKS blocks"
    sql >/dev/null <<EOF
INSERT INTO coursenav_bench.payloads
SELECT c, $SMALL_BLOCKS, coursenav_bench.course_blocks(c, $SMALL_BLOCKS, n)
  FROM generate_series(1, $SMALL_COURSES) n, format('course-v1:BenchSmall+S%s+2025', n) c;
SELECT coursenav.rebuild(course_id, 'v1', doc) FROM coursenav_bench.payloads;
SELECT coursenav_bench.load_peers(course_id, doc) FROM coursenav_bench.payloads;
EOF
    local size
    for size in $(printf '%s\n' "${READ_SIZES[@]}" "${REBUILD_SIZES[@]}" | sort -nu); do
        say "generating a course of $size blocks"
        sql -c "INSERT INTO coursenav_bench.payloads
                SELECT '$(course_key "$size")', $size, coursenav_bench.course_blocks('$(course_key "$size")', $size, 1)"
    done
}

# timed_rebuilds COURSE RUNS TABLE: rebuilds the course's payload RUNS times,
# each timed by coursenav_bench.ms_since (the statement with its commit, as
# the client sees it), into TABLE's (run, ms).
timed_rebuilds() {
    local course="$1" runs="$2" table="$3" run
    for run in $(seq "$runs"); do
        printf 'SELECT clock_timestamp() AS began \\gset\n'
        printf "SELECT coursenav.rebuild(course_id, 'bench-%s', doc) FROM coursenav_bench.payloads WHERE course_id = '%s';\n" \
            "$run" "$course"
        printf "INSERT INTO %s (run, ms) VALUES (%s, coursenav_bench.ms_since(:'began'));\n" "$table" "$run"
    done | sql -At >/dev/null
}

rebuilds() {
    local size
    for size in "${REBUILD_SIZES[@]}"; do
        say "rebuilding $size blocks, $REBUILD_RUNS times"
        timed_rebuilds "$(course_key "$size")" "$REBUILD_RUNS" coursenav_bench.rebuild_runs
        sql -c "UPDATE coursenav_bench.rebuild_runs SET size = $size WHERE size IS NULL"
    done
}

# Peak memory of a fresh backend rebuilding the largest course; the library
# is loaded before the baseline so only the rebuild itself counts.
memory() {
    local course
    course="$(course_key "$MEMORY_SIZE")"
    say "sampling backend memory during a rebuild of $MEMORY_SIZE blocks"
    sql -At >/dev/null <<EOF
SELECT coursenav.assert_course_key('$course');
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_BACKEND_PID :pid
\! bash "$BENCH/sample_memory.sh" start "\$BENCH_BACKEND_PID" "$WORK"
SELECT coursenav.rebuild(course_id, 'memory', doc) FROM coursenav_bench.payloads WHERE course_id = '$course';
\! bash "$BENCH/sample_memory.sh" stop "$WORK"
EOF
    echo "$MEMORY_SIZE $(cat "$WORK/result")" | tr ' ' '\t' |
        sql -c "\\copy coursenav_bench.memory FROM pstdin"
}

# The peers read the documents and the trees the rebuilds left serving.
load_peers() {
    local sizes
    sizes="$(IFS=,; echo "${READ_SIZES[*]}")"
    sql -c "SELECT coursenav_bench.load_peers(course_id, doc) FROM coursenav_bench.payloads
             WHERE course_id IN (SELECT format('course-v1:BenchX+N%s+2025', s) FROM unnest('{$sizes}'::int[]) s)" >/dev/null
    sql -c "SELECT coursenav_bench.check_peers(format('course-v1:BenchX+N%s+2025', s)) FROM unnest('{$sizes}'::int[]) s" >/dev/null
    sql -c "VACUUM ANALYZE" >/dev/null
}

read_run() { # read_run WORKLOAD COURSE SIZE CLIENTS VARIANT ROUND
    local workload="$1" course="$2" size="$3" clients="$4" variant="$5" round="$6" label prefix
    label="read/$workload/$clients/$variant"
    prefix="$WORK/pgbench-${label//\//-}-$round"
    pgbench -n -M prepared -h "$CLUSTER" -p "$PORT" -U postgres -c "$clients" -j "$((clients < 2 ? clients : 2))" \
        -T "$READ_SECONDS" -D course="$course" -f "$BENCH/pgbench/$variant.sql" \
        -l --log-prefix="$prefix" postgres >"$prefix.out" 2>&1 || { cat "$prefix.out" >&2; return 1; }
    # pgbench's report, its TPS read by coursenav_bench.take_pgbench_tps, and
    # its per-transaction logs (one per thread), turned into latencies by
    # coursenav_bench.take_pgbench_log (tests/bench/report.sql).
    sql -c "\\copy coursenav_bench.pgbench_output (line) FROM '$prefix.out'" \
        -c "INSERT INTO coursenav_bench.read_runs
            VALUES ('$workload', $size, $clients, '$variant', $round, coursenav_bench.take_pgbench_tps())" ||
        { cat "$prefix.out" >&2; return 1; }
    cat "$prefix".[0-9]* |
        sql -c "\\copy coursenav_bench.pgbench_log FROM pstdin WITH (DELIMITER ' ')" \
            -c "SELECT coursenav_bench.take_pgbench_log('$label')" >/dev/null
}

# The variants take turns, round after round, so that the machine's drift
# over a run falls on all of them alike.
reads_of() { # reads_of WORKLOAD COURSE SIZE CLIENTS...
    local workload="$1" course="$2" size="$3" clients round variant
    shift 3
    for clients in "$@"; do
        say "reading $course ($size blocks) with $clients clients"
        for round in $(seq "$READ_ROUNDS"); do
            for variant in coursenav stored_json sql_function plpgsql; do
                read_run "$workload" "$course" "$size" "$clients" "$variant" "$round"
            done
        done
    done
}

reads() {
    local size
    for size in "${READ_SIZES[@]}"; do
        reads_of "$size" "$(course_key "$size")" "$size" "${CLIENTS[@]}"
    done
}

# One reader: repeats tests/bench/reader_step.psql until the deadline and
# keeps what psql printed (coursenav_bench.take_reader_output reads it).
reader() { # reader PHASE N DEADLINE
    local phase="$1" n="$2" deadline="$3"
    set +o pipefail
    yes -- "$(cat "$BENCH/reader_step.psql")" |
        "${PSQL[@]}" -At -v course="$(course_key "$WRITES_SIZE")" -v deadline="$deadline" \
            >"$WORK/$phase-reader-$n.out" 2>"$WORK/$phase-reader-$n.err"
    local status=("${PIPESTATUS[@]}")
    [ "${status[1]}" -eq 0 ]
}

writer() { # writer PHASE DEADLINE
    local phase="$1" deadline="$2"
    set +o pipefail
    yes -- "$(cat "$BENCH/writer_step.psql")" |
        "${PSQL[@]}" -At -v course="$(course_key "$WRITES_SIZE")" -v deadline="$deadline" \
            >/dev/null 2>"$WORK/$phase-writer.err"
    local status=("${PIPESTATUS[@]}")
    [ "${status[1]}" -eq 0 ]
}

count_errors() { cat "$@" 2>/dev/null | grep -c 'ERROR:' || true; }

writes_phase() { # writes_phase PHASE: idle, or writes with a writer beside the readers
    local phase="$1" deadline pids=() n pid failed=0
    deadline="$(sql -At -c "SELECT clock_timestamp() + interval '$WRITES_SECONDS seconds'")"
    [ "$phase" = writes ] && { writer "$phase" "$deadline" & pids+=($!); }
    for n in $(seq "$READERS"); do
        reader "$phase" "$n" "$deadline" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    [ "$failed" -eq 0 ] || { say "a reader or the writer failed in phase $phase"; return 1; }
    for n in $(seq "$READERS"); do
        sql -c "\\copy coursenav_bench.reader_output (line) FROM '$WORK/$phase-reader-$n.out'" \
            -c "SELECT coursenav_bench.take_reader_output('$phase', $n)" >/dev/null ||
            { cat "$WORK/$phase-reader-$n.err" >&2; return 1; }
    done
    sql -c "INSERT INTO coursenav_bench.client_errors VALUES
            ('$phase', 'readers', $(count_errors "$WORK/$phase"-reader-*.err)),
            ('$phase', 'writer', $(count_errors "$WORK/$phase-writer.err"))"
}

reads_under_writes() {
    say "$READERS readers of $WRITES_SIZE blocks for ${WRITES_SECONDS}s, no writes"
    writes_phase idle
    say "$READERS readers of $WRITES_SIZE blocks for ${WRITES_SECONDS}s, a rebuild every second"
    writes_phase writes
}

# The fake catalog lists SIZE runs under keys of their own, so each size
# matches only its own overviews.
catalog_key_format() { echo "course-v1:BenchCatalog+S$1C{i}+2030"; }

# start_catalog SIZE LABEL: a fake catalog whose marketing URLs carry LABEL,
# so a sync after one with another label really updates every overview.
start_catalog() {
    local size="$1" label="$2" tries
    rm -f "$WORK/catalog.port"
    "$TOOLS/fake-catalog" --runs "$size" --label "$label" --token "$CATALOG_TOKEN" \
        --key-format "$(catalog_key_format "$size")" --port-file "$WORK/catalog.port" >"$WORK/catalog.log" 2>&1 &
    CATALOG_PID=$!
    for tries in $(seq 600); do
        [ -s "$WORK/catalog.port" ] && return 0
        kill -0 "$CATALOG_PID" 2>/dev/null || break
        sleep 0.1
    done
    say "the fake catalog did not start"; cat "$WORK/catalog.log" >&2
    return 1
}

stop_catalog() {
    [ -n "$CATALOG_PID" ] || return 0
    kill "$CATALOG_PID" 2>/dev/null || true
    wait "$CATALOG_PID" 2>/dev/null || true
    CATALOG_PID=""
}

# One timed sync, in a session of its own as a scheduled job would run it;
# fails the run unless every page was read and every overview updated.
catalog_run() { # catalog_run SIZE RUN
    local size="$1" run="$2"
    start_catalog "$size" "run$run"
    sql -At >/dev/null <<EOF
SET coursenav.catalog_api_url = 'http://127.0.0.1:$(cat "$WORK/catalog.port")';
SET coursenav.catalog_page_size = $CATALOG_PAGE_SIZE;
SELECT clock_timestamp() AS began \gset
INSERT INTO coursenav_bench.catalog_runs (size, run, page_size, status, pages, updated)
SELECT $size, $run, $CATALOG_PAGE_SIZE, status, pages_fetched, updated FROM coursenav.catalog_sync();
UPDATE coursenav_bench.catalog_runs SET ms = coursenav_bench.ms_since(:'began') WHERE (size, run) = ($size, $run);
EOF
    stop_catalog
    sql -c "SELECT coursenav_bench.check_catalog_run($size, $run)" >/dev/null
}

# Peak memory of a fresh backend syncing the largest catalog, once with the
# default coursenav.catalog_max_bytes and once with a small one that ends the
# run partial: what a sync holds is bounded by that setting, not the catalog.
catalog_memory() {
    local size="$CATALOG_LARGE" max_kb dir
    for max_kb in default "$CATALOG_SMALL_MAX_KB"; do
        say "sampling backend memory during a catalog sync of $size runs, catalog_max_bytes $max_kb"
        dir="$WORK/catalog-memory-$max_kb"
        mkdir -p "$dir"
        start_catalog "$size" "memory-$max_kb"
        sql -At >"$dir/sync" <<EOF
SET coursenav.catalog_api_url = 'http://127.0.0.1:$(cat "$WORK/catalog.port")';
SET coursenav.catalog_page_size = $CATALOG_PAGE_SIZE;
$([ "$max_kb" = default ] || echo "SET coursenav.catalog_max_bytes = '${max_kb}kB';")
SELECT coursenav.assert_course_key('course-v1:Bench+Warm+2030');
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_BACKEND_PID :pid
\! bash "$BENCH/sample_memory.sh" start "\$BENCH_BACKEND_PID" "$dir"
SELECT current_setting('coursenav.catalog_max_bytes'), status, pages_fetched FROM coursenav.catalog_sync();
\! bash "$BENCH/sample_memory.sh" stop "$dir"
EOF
        stop_catalog
        echo "$size $(tail -n1 "$dir/sync" | tr '|' ' ') $(cat "$dir/result")" | tr ' ' '\t' |
            sql -c "\\copy coursenav_bench.catalog_memory FROM pstdin"
    done
}

catalog_syncs() {
    local size run
    sql -c "SELECT coursenav.set_catalog_token('$CATALOG_TOKEN')" >/dev/null
    for size in "$CATALOG_SMALL" "$CATALOG_LARGE"; do
        say "creating $size overviews, then syncing $size course runs $CATALOG_RUNS times"
        sql -c "INSERT INTO coursenav.course_overviews (course_id, org, number, run)
                SELECT format('course-v1:BenchCatalog+S%sC%s+2030', $size, i), 'BenchCatalog',
                       format('S%sC%s', $size, i), '2030'
                  FROM generate_series(0, $size - 1) i" -c "VACUUM ANALYZE coursenav.course_overviews" >/dev/null
        for run in $(seq "$CATALOG_RUNS"); do catalog_run "$size" "$run"; done
    done
}

# The Demo Course document from the converter the black-box tests check, or
# nothing when the fixture is absent (then its rows say "not measured").
demo_document() {
    if [ ! -f "$DEMO_FIXTURE" ]; then
        say "the Demo Course fixture $DEMO_FIXTURE is absent: not measured"
        return 0
    fi
    say "converting the Demo Course with olx-course-blocks"
    "$TOOLS/olx-course-blocks" "$DEMO_FIXTURE" >"$WORK/demo-course.json"
}

# Rebuild and read the Demo Course as the synthetic ones, beside the same peers.
demo_course() {
    local json="$WORK/demo-course.json" size
    if [ ! -s "$json" ]; then
        sql -c "INSERT INTO coursenav_bench.demo_course VALUES (NULL, NULL, false)"
        return 0
    fi
    sql >/dev/null <<EOF
\set doc \`cat "$json"\`
INSERT INTO coursenav_bench.payloads
SELECT '$DEMO_COURSE', count(*), :'doc'::jsonb FROM jsonb_object_keys((:'doc'::jsonb)->'blocks');
INSERT INTO coursenav_bench.demo_course SELECT course_id, n_blocks, true FROM coursenav_bench.payloads
 WHERE course_id = '$DEMO_COURSE';
EOF
    size="$(sql -At -c "SELECT n_blocks FROM coursenav_bench.demo_course")"
    say "rebuilding the Demo Course ($size blocks), $DEMO_REBUILD_RUNS times"
    timed_rebuilds "$DEMO_COURSE" "$DEMO_REBUILD_RUNS" coursenav_bench.demo_rebuild_runs
    sql -c "SELECT coursenav_bench.load_peers(course_id, doc) FROM coursenav_bench.payloads WHERE course_id = '$DEMO_COURSE'" \
        -c "SELECT coursenav_bench.check_peers('$DEMO_COURSE')" -c "VACUUM ANALYZE" >/dev/null
    reads_of demo "$DEMO_COURSE" "$size" "${DEMO_CLIENTS[@]}"
}

# Reads past one machine. A hot standby streams from the benchmark's
# cluster; a poller on it records when it first serves each new version of
# a small course while the primary bumps it STANDBY_BUMPS times, and
# pgbench reads the smallest read size's course on both nodes.
standby() {
    local course="course-v1:BenchSmall+S1+2025" size="${READ_SIZES[0]}" poller i clients node host port out
    say "starting a hot standby on port $STANDBY_PORT (pg_basebackup)"
    pg_cluster standby "$CLUSTER" "$STANDBY" "$STANDBY_PORT" "listen_addresses = ''" "hot_standby_feedback = on"

    say "bumping $course $STANDBY_BUMPS times, watched from the standby"
    # The poller: a fresh snapshot per look; it reports each version the
    # first time it sees it, with the time, until it has seen every bump.
    psql -X -q -h "$STANDBY" -p "$STANDBY_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -v course="$course" -v bumps="$STANDBY_BUMPS" -f "$BENCH/standby_poller.sql" 2>"$WORK/standby-poll.err" &
    poller=$!
    sleep 1
    for i in $(seq "$STANDBY_BUMPS"); do
        printf "SELECT coursenav.rebuild(course_id, 'standby-%s', doc) FROM coursenav_bench.payloads WHERE course_id = '%s';\nSELECT pg_sleep(0.05);\n" \
            "$i" "$course"
    done | sql -At >/dev/null
    wait "$poller" || { cat "$WORK/standby-poll.err" >&2; return 1; }
    sql -c "\\copy coursenav_bench.standby_poller_output (line) FROM '$WORK/standby-poll.err'" \
        -c "SELECT coursenav_bench.take_standby_poller_output()" >/dev/null

    for clients in "${STANDBY_CLIENTS[@]}"; do
        for node in primary standby; do
            if [ "$node" = primary ]; then host="$CLUSTER" port="$PORT"; else host="$STANDBY" port="$STANDBY_PORT"; fi
            say "reading $size blocks on the $node with $clients clients"
            out="$WORK/standby-pgbench-$node-$clients.out"
            pgbench -n -M prepared -h "$host" -p "$port" -U postgres -c "$clients" -j "$((clients < 2 ? clients : 2))" \
                -T "$READ_SECONDS" -D course="$(course_key "$size")" -f "$BENCH/pgbench/coursenav.sql" postgres \
                >"$out" 2>&1 || { say "pgbench on the $node failed"; cat "$out" >&2; return 1; }
            sql -c "\\copy coursenav_bench.pgbench_output (line) FROM '$out'" \
                -c "INSERT INTO coursenav_bench.standby_reads VALUES ('$node', $clients, coursenav_bench.take_pgbench_tps())" ||
                { cat "$out" >&2; return 1; }
        done
    done
}

report() {
    local targets
    targets="$(IFS=,; echo "${READ_TARGET_SIZES[*]}")"
    echo
    echo "coursenav benchmark ($MODE run, $(nproc) cores, $(date -u +%F)); reads: $READ_ROUNDS x $READ_SECONDS s per row,"
    echo "latencies in ms; (a) stored json, (b) SQL function, (c) recursive PL/pgSQL over the same courses."
    [ "$MODE" = smoke ] && echo "Smoke run: small sizes stand in for the targets' sizes; verdicts are indicative only."
    sql -P footer=off -c "SELECT * FROM coursenav_bench.report('{$targets}', $REBUILD_SMALL, $REBUILD_LARGE,
                                                              $GROWTH_FROM, $MEMORY_SIZE, $WRITES_SIZE, $READERS,
                                                              $CATALOG_SMALL, $CATALOG_LARGE)"
    echo
    echo "Reads past one machine: a streaming hot standby on the same machine (latencies in ms)."
    sql -P footer=off -c "SELECT * FROM coursenav_bench.standby_report('course-v1:BenchSmall+S1+2025', ${READ_SIZES[0]})"
}

main() {
    trap cleanup EXIT
    SECONDS=0
    install
    tools
    demo_document
    start
    setup
    rebuilds
    load_peers
    reads
    demo_course
    memory
    reads_under_writes
    catalog_syncs
    catalog_memory
    standby
    report
    say "done in ${SECONDS}s"
}

main
