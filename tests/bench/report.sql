-- Where .ci/bench.sh records its measurements, and the one table it prints.
-- Targets are printed as met / not met; nothing here fails a run.

CREATE SCHEMA IF NOT EXISTS coursenav_bench;

-- The generated Course Blocks documents, generated once and reused by every
-- rebuild so the generator's cost is never timed.
CREATE TABLE coursenav_bench.payloads (
    course_id text PRIMARY KEY,
    n_blocks  int NOT NULL,
    doc       jsonb NOT NULL
);

-- pgbench runs, in rounds of equal length; their latencies are labelled
-- 'read/<workload>/<clients>/<variant>'. The workload is the synthetic
-- course's size, or 'demo' for the Open edX Demo Course.
CREATE TABLE coursenav_bench.read_runs (
    workload text, size int, clients int, variant text, round int, tps float8,
    PRIMARY KEY (workload, clients, variant, round)
);
-- Per-transaction latencies, from pgbench's logs.
CREATE TABLE coursenav_bench.latencies (run text NOT NULL, latency_ms float8 NOT NULL);
-- One pgbench run's per-transaction logs as pgbench writes them ("client
-- transaction latency_us script end_s end_us"), loaded with \copy.
CREATE TABLE coursenav_bench.pgbench_log (
    client int, transaction bigint, latency_us bigint, script int, end_s bigint, end_us bigint
);

-- Turns the loaded pgbench log into the run's latencies, and empties it.
-- pgbench's latency field reads 0 for some transactions here (its start
-- clock is cached), so a latency is taken as the time since the client's
-- previous transaction ended: each client runs back to back. A client's
-- first transaction keeps pgbench's own figure.
CREATE FUNCTION coursenav_bench.take_pgbench_log(run text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coursenav_bench.latencies (run, latency_ms)
    SELECT take_pgbench_log.run,
           coalesce(ended_us - lag(ended_us) OVER (PARTITION BY client ORDER BY transaction), latency_us)::float8 / 1000
      FROM (SELECT client, transaction, latency_us, end_s * 1000000 + end_us AS ended_us
              FROM coursenav_bench.pgbench_log) l;
    TRUNCATE coursenav_bench.pgbench_log;
END $$;

-- One pgbench run's report as it printed it, a line a row.
CREATE TABLE coursenav_bench.pgbench_output (line_no bigint GENERATED ALWAYS AS IDENTITY, line text NOT NULL);

-- The TPS of the loaded pgbench report, from its line "tps = 1234.5
-- (without initial connection time)"; empties it. A report without one (a
-- pgbench that failed) fails the run.
CREATE FUNCTION coursenav_bench.take_pgbench_tps()
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    tps float8;
BEGIN
    SELECT (regexp_match(line, '^tps = ([0-9.]+) \(without initial connection time\)$'))[1]::float8 INTO tps
      FROM coursenav_bench.pgbench_output
     WHERE line ~ '^tps = [0-9.]+ \(without initial connection time\)$';
    TRUNCATE coursenav_bench.pgbench_output;
    IF tps IS NULL THEN
        RAISE EXCEPTION 'pgbench printed no "tps = ... (without initial connection time)" line';
    END IF;
    RETURN tps;
END $$;

CREATE TABLE coursenav_bench.rebuild_runs (size int, run int, ms float8);
-- Rebuilds of the Open edX Demo Course, kept apart from the synthetic sizes.
CREATE TABLE coursenav_bench.demo_rebuild_runs (run int, ms float8);
-- Whether olx-course-blocks (tests/tools) could convert the Demo Course here
-- (its fixture lives outside the repository).
CREATE TABLE coursenav_bench.demo_course (course_id text, n_blocks int, fixture_present boolean NOT NULL);

-- Catalog syncs against the fake-catalog of tests/tools, one row per run.
CREATE TABLE coursenav_bench.catalog_runs (
    size int, run int, page_size int, status text, pages int, updated bigint, ms float8,
    PRIMARY KEY (size, run)
);

-- A sync that did not read every page or update every overview failed as a
-- step of the benchmark, whatever its time.
CREATE FUNCTION coursenav_bench.check_catalog_run(size int, run int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r coursenav_bench.catalog_runs;
BEGIN
    SELECT * INTO r FROM coursenav_bench.catalog_runs c WHERE (c.size, c.run) = (check_catalog_run.size, check_catalog_run.run);
    IF r.status IS DISTINCT FROM 'ok' OR r.updated IS DISTINCT FROM size::bigint THEN
        RAISE EXCEPTION 'catalog sync of % runs (run %): status %, % overviews updated, error: %', size, run,
            r.status, r.updated, (SELECT error FROM coursenav.catalog_sync_runs ORDER BY run_id DESC LIMIT 1);
    END IF;
END $$;

-- From tests/bench/sample_memory.sh, in kB.
CREATE TABLE coursenav_bench.memory (
    size int, rss_anon_before_kb bigint, rss_anon_peak_kb bigint,
    vm_rss_before_kb bigint, vm_hwm_after_kb bigint
);

-- From tests/bench/sample_memory.sh around one catalog sync, in kB.
CREATE TABLE coursenav_bench.catalog_memory (
    size int, max_bytes text, status text, pages int, rss_anon_before_kb bigint, rss_anon_peak_kb bigint,
    vm_rss_before_kb bigint, vm_hwm_after_kb bigint
);

-- Reads under writes: every read of every reader, the writer's commits, and
-- the errors each side printed.
CREATE TABLE coursenav_bench.reads (
    phase text, reader int, started float8, version uuid, latency_ms float8
);
-- One reader's output as psql printed it (tests/bench/reader_step.psql), a
-- line a row in the order printed: psql's "Time: 12.345 ms" line for each
-- read, then "read <started> <version>".
CREATE TABLE coursenav_bench.reader_output (line_no bigint GENERATED ALWAYS AS IDENTITY, line text NOT NULL);

-- Turns the loaded reader output into that reader's reads, and empties it.
-- Each read takes the latency of the last "Time:" line before it; its
-- version is unset when the read failed or found no tree. A reader that
-- read nothing fails the run.
CREATE FUNCTION coursenav_bench.take_reader_output(phase text, reader int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n_reads bigint;
    untimed bigint;
BEGIN
    WITH lines AS (
        SELECT line_no, regexp_split_to_array(btrim(line), '\s+') AS f FROM coursenav_bench.reader_output
    ), numbered AS (
        -- Lines that share a count of "Time:" lines so far follow the same one.
        SELECT f, count(*) FILTER (WHERE f[1] = 'Time:') OVER (ORDER BY line_no) AS timing FROM lines
    )
    INSERT INTO coursenav_bench.reads (phase, reader, started, version, latency_ms)
    SELECT take_reader_output.phase, take_reader_output.reader, r.f[2]::float8,
           CASE WHEN r.f[3] ~ '^[0-9a-f-]+$' THEN r.f[3]::uuid END, t.f[2]::float8
      FROM numbered r LEFT JOIN numbered t ON t.timing = r.timing AND t.f[1] = 'Time:'
     WHERE r.f[1] = 'read';
    TRUNCATE coursenav_bench.reader_output;
    SELECT count(*), count(*) FILTER (WHERE r.latency_ms IS NULL) INTO n_reads, untimed
      FROM coursenav_bench.reads r WHERE (r.phase, r.reader) = (take_reader_output.phase, take_reader_output.reader);
    IF n_reads = 0 OR untimed > 0 THEN
        RAISE EXCEPTION 'reader % in phase %: % reads, % without a time', reader, phase, n_reads, untimed;
    END IF;
END $$;

-- Milliseconds since `began` by the server's clock: a statement's time as
-- its client sees it, commit included, when `began` was taken in the
-- statement before it and this is called in the statement after it.
CREATE FUNCTION coursenav_bench.ms_since(began timestamptz) RETURNS float8 LANGUAGE sql VOLATILE AS $$
    SELECT extract(epoch FROM clock_timestamp() - began)::float8 * 1000
$$;
CREATE TABLE coursenav_bench.commits (version uuid, committed_at timestamptz);
CREATE SEQUENCE coursenav_bench.load_versions;
CREATE TABLE coursenav_bench.client_errors (phase text, side text, errors int);

CREATE FUNCTION coursenav_bench.ms(value float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN NULL
                WHEN value < 10 THEN to_char(value, 'FM990.00')
                ELSE to_char(value, 'FM999,999,990.0') END
$$;

CREATE FUNCTION coursenav_bench.ratio(value float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN '?' WHEN value < 10 THEN to_char(value, 'FM990.00')
                ELSE to_char(value, 'FM999,990') END || 'x'
$$;

CREATE FUNCTION coursenav_bench.verdict(ok boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ok THEN 'met' WHEN NOT ok THEN 'NOT MET' ELSE 'not measured' END
$$;

CREATE FUNCTION coursenav_bench.blocks_label(size int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(size, 'FM999,999,999') || ' blocks'
$$;

-- One row of the printed table, as each section's report gives it; ord
-- orders the rows and is not printed.
CREATE TYPE coursenav_bench.report_row AS (
    ord text, section text, workload text, clients int, tps text, p50_ms text, p99_ms text,
    result text, target text, verdict text);

-- Read path: one row per workload, clients and variant; the coursenav row
-- carries its TPS ratios to the peers and, at the targeted sizes, a verdict.
-- The Demo Course's rows go to its own section.
CREATE FUNCTION coursenav_bench.read_report(target_sizes int[])
RETURNS SETOF coursenav_bench.report_row
LANGUAGE sql AS $$
    WITH stats AS (
        SELECT r.workload, r.size, r.clients, r.variant, r.tps,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY l.latency_ms) AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY l.latency_ms) AS p99
          -- Rounds are equally long, so their mean TPS is the TPS of all of them.
          FROM (SELECT workload, size, clients, variant, avg(tps) AS tps FROM coursenav_bench.read_runs
                 GROUP BY workload, size, clients, variant) r
          JOIN coursenav_bench.latencies l ON l.run = format('read/%s/%s/%s', r.workload, r.clients, r.variant)
         GROUP BY r.workload, r.size, r.clients, r.variant, r.tps
    ),
    ratios AS (
        SELECT s.workload, s.clients,
               s.tps / a.tps AS vs_a, s.tps / b.tps AS vs_b, s.tps / c.tps AS vs_c
          FROM stats s
          JOIN stats a ON (a.workload, a.clients, a.variant) = (s.workload, s.clients, 'stored_json')
          JOIN stats b ON (b.workload, b.clients, b.variant) = (s.workload, s.clients, 'sql_function')
          JOIN stats c ON (c.workload, c.clients, c.variant) = (s.workload, s.clients, 'plpgsql')
         WHERE s.variant = 'coursenav'
    )
    SELECT CASE WHEN demo THEN format('5 1 %s %s', s.clients, v.pos)
                ELSE format('1 %s %s %s', lpad(s.size::text, 9, '0'), s.clients, v.pos) END,
           CASE WHEN demo THEN 'demo course' ELSE 'read' END,
           CASE WHEN demo THEN 'Demo Course, ' ELSE '' END || coursenav_bench.blocks_label(s.size) || ': ' || v.label,
           s.clients,
           to_char(s.tps, 'FM999,990.0'), coursenav_bench.ms(s.p50), coursenav_bench.ms(s.p99),
           CASE WHEN s.variant = 'coursenav' THEN
               format('TPS %s (a), %s (b), %s (c)',
                      coursenav_bench.ratio(x.vs_a), coursenav_bench.ratio(x.vs_b), coursenav_bench.ratio(x.vs_c))
           END,
           CASE WHEN s.variant = 'coursenav' AND NOT demo AND s.size = ANY (target_sizes)
                THEN '>= 0.9x (a), >= 20x (b) and (c)' END,
           CASE WHEN s.variant = 'coursenav' AND NOT demo AND s.size = ANY (target_sizes)
                THEN coursenav_bench.verdict(x.vs_a >= 0.9 AND x.vs_b >= 20 AND x.vs_c >= 20) END
      FROM stats s
      CROSS JOIN LATERAL (SELECT s.workload = 'demo' AS demo) d
      JOIN (VALUES (1, 'coursenav', 'coursenav.navigation_tree'),
                   (2, 'stored_json', '(a) stored json by key'),
                   (3, 'sql_function', '(b) SQL jsonb_object_agg'),
                   (4, 'plpgsql', '(c) recursive PL/pgSQL')) AS v(pos, variant, label)
        ON v.variant = s.variant
      LEFT JOIN ratios x ON (x.workload, x.clients) = (s.workload, s.clients)
$$;

-- Rebuild path: medians per size, growth between two sizes, peak memory.
CREATE FUNCTION coursenav_bench.rebuild_report(small_size int, large_size int, growth_from int, memory_size int)
RETURNS SETOF coursenav_bench.report_row
LANGUAGE sql AS $$
    WITH medians AS (
        SELECT size, count(*) AS runs, min(ms) AS fastest, max(ms) AS slowest,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median
          FROM coursenav_bench.rebuild_runs GROUP BY size
    ),
    growth AS (
        SELECT hi.size AS hi_size, lo.size AS lo_size, hi.median / lo.median AS ratio
          FROM medians hi, medians lo WHERE hi.size = large_size AND lo.size = growth_from
    )
    SELECT format('2 1 %s', lpad(m.size::text, 9, '0')), 'rebuild',
           'coursenav.rebuild, ' || coursenav_bench.blocks_label(m.size), 1, NULL, coursenav_bench.ms(m.median), NULL,
           format('median of %s runs (%s to %s ms)', m.runs, coursenav_bench.ms(m.fastest), coursenav_bench.ms(m.slowest)),
           CASE m.size WHEN small_size THEN '<= 50 ms median' WHEN large_size THEN '<= 1.5 s median' END,
           CASE m.size WHEN small_size THEN coursenav_bench.verdict(m.median <= 50)
                       WHEN large_size THEN coursenav_bench.verdict(m.median <= 1500) END
      FROM medians m
    UNION ALL
    SELECT '2 2', 'rebuild', format('growth %s / %s', coursenav_bench.blocks_label(g.hi_size), to_char(g.lo_size, 'FM999,999')),
           NULL, NULL, NULL, NULL, format('median time x%s for x%s blocks', to_char(g.ratio, 'FM990.00'),
                                          to_char(g.hi_size::float8 / g.lo_size, 'FM990.0')),
           '<= 11', coursenav_bench.verdict(g.ratio <= 11)
      FROM growth g
    UNION ALL
    SELECT '2 3', 'rebuild', 'peak backend memory, ' || coursenav_bench.blocks_label(m.size), 1, NULL, NULL, NULL,
           format('private (RssAnon) +%s MB; VmHWM +%s MB incl. shared buffers touched',
                  round((m.rss_anon_peak_kb - m.rss_anon_before_kb) / 1024.0),
                  round((m.vm_hwm_after_kb - m.vm_rss_before_kb) / 1024.0)),
           '<= 256 MB private growth',
           coursenav_bench.verdict((m.rss_anon_peak_kb - m.rss_anon_before_kb) <= 256 * 1024)
      FROM coursenav_bench.memory m WHERE m.size = memory_size
$$;

-- Reads under writes. A read is stale when a newer version than the one it
-- saw had surely committed before the read began (its writer had already
-- returned from the commit); a reader goes back when it sees a version
-- older, in bump order, than one it saw before.
CREATE FUNCTION coursenav_bench.writes_report(course_size int, readers int)
RETURNS SETOF coursenav_bench.report_row
LANGUAGE sql AS $$
    WITH phases AS (
        SELECT r.phase, count(*) AS n_reads,
               count(*) / nullif(max(r.started) - min(r.started), 0) AS reads_per_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms) AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY r.latency_ms) AS p99
          FROM coursenav_bench.reads r GROUP BY r.phase
    ),
    bumps AS (
        SELECT block_structure_version AS version, bump_id FROM coursenav.version_history
    ),
    committed AS (
        SELECT c.committed_at, b.bump_id FROM coursenav_bench.commits c JOIN bumps b ON b.version = c.version
    ),
    seen AS (
        SELECT r.*, b.bump_id,
               lag(b.bump_id) OVER (PARTITION BY r.phase, r.reader ORDER BY r.started) AS previous_bump,
               (SELECT max(c.bump_id) FROM committed c WHERE c.committed_at < to_timestamp(r.started)) AS newest_committed
          FROM coursenav_bench.reads r LEFT JOIN bumps b ON b.version = r.version
         WHERE r.phase = 'writes'
    ),
    checks AS (
        SELECT count(*) FILTER (WHERE bump_id < newest_committed) AS stale_reads,
               count(DISTINCT reader) FILTER (WHERE bump_id < newest_committed) AS stale_readers,
               count(DISTINCT reader) FILTER (WHERE bump_id < previous_bump) AS readers_back,
               count(*) FILTER (WHERE bump_id IS NULL) AS unknown_versions,
               count(DISTINCT version) AS versions_seen
          FROM seen
    ),
    errors AS (
        SELECT coalesce(sum(errors) FILTER (WHERE side = 'readers'), 0) AS reader_errors,
               coalesce(sum(errors) FILTER (WHERE side = 'writer'), 0) AS writer_errors
          FROM coursenav_bench.client_errors WHERE phase = 'writes'
    ),
    idle AS (SELECT * FROM phases WHERE phase = 'idle'),
    busy AS (SELECT * FROM phases WHERE phase = 'writes')
    SELECT '3 1', 'reads under writes', format('%s: %s readers, no writes', coursenav_bench.blocks_label(course_size), readers),
           readers, to_char(i.reads_per_s, 'FM999,990.0'), coursenav_bench.ms(i.p50), coursenav_bench.ms(i.p99),
           format('%s reads', i.n_reads), NULL, NULL
      FROM idle i
    UNION ALL
    SELECT '3 2', 'reads under writes', format('%s: %s readers, a rebuild commits every second', coursenav_bench.blocks_label(course_size), readers),
           readers, to_char(w.reads_per_s, 'FM999,990.0'), coursenav_bench.ms(w.p50), coursenav_bench.ms(w.p99),
           format('%s reads; p99 %s idle; %s commits', w.n_reads, coursenav_bench.ratio(w.p99 / i.p99),
                  (SELECT count(*) FROM coursenav_bench.commits)),
           'p99 <= 2x idle p99', coursenav_bench.verdict(w.p99 <= 2 * i.p99)
      FROM busy w, idle i
    UNION ALL
    SELECT '3 3', 'reads under writes', 'errors (readers, writer)', NULL, NULL, NULL, NULL,
           format('%s reader errors, %s reads without a known version, %s writer errors',
                  e.reader_errors, c.unknown_versions, e.writer_errors),
           '0', coursenav_bench.verdict(e.reader_errors + e.writer_errors + c.unknown_versions = 0)
      FROM errors e, checks c
    UNION ALL
    SELECT '3 4', 'reads under writes', 'older version after a newer one committed', NULL, NULL, NULL, NULL,
           format('%s stale reads by %s readers; %s readers went back; %s versions seen',
                  c.stale_reads, c.stale_readers, c.readers_back, c.versions_seen),
           '0 readers', coursenav_bench.verdict(c.stale_readers + c.readers_back = 0)
      FROM checks c
$$;

-- Catalog sync: median time per catalog size, with what each run did.
CREATE FUNCTION coursenav_bench.catalog_report(small_size int, large_size int)
RETURNS SETOF coursenav_bench.report_row
LANGUAGE sql AS $$
    WITH runs AS (
        SELECT size, page_size, count(*) AS runs, min(ms) AS fastest, max(ms) AS slowest,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median,
               string_agg(DISTINCT status, ', ') AS statuses,
               min(pages) AS min_pages, max(pages) AS max_pages, min(updated) AS min_updated, max(updated) AS max_updated
          FROM coursenav_bench.catalog_runs GROUP BY size, page_size
    )
    SELECT format('4 %s', lpad(r.size::text, 9, '0')), 'catalog sync',
           format('catalog_sync, %s course runs, page size %s', to_char(r.size, 'FM999,999,999'), r.page_size),
           1, NULL, coursenav_bench.ms(r.median), NULL,
           format('median of %s runs (%s to %s ms); status %s; %s pages; %s overviews updated', r.runs,
                  coursenav_bench.ms(r.fastest), coursenav_bench.ms(r.slowest), r.statuses,
                  CASE WHEN r.min_pages = r.max_pages THEN r.min_pages::text ELSE r.min_pages || ' to ' || r.max_pages END,
                  CASE WHEN r.min_updated = r.max_updated THEN r.min_updated::text
                       ELSE r.min_updated || ' to ' || r.max_updated END),
           CASE r.size WHEN small_size THEN '<= 1 s median' WHEN large_size THEN '<= 20 s median' END,
           CASE r.size WHEN small_size THEN coursenav_bench.verdict(r.median <= 1000)
                       WHEN large_size THEN coursenav_bench.verdict(r.median <= 20000) END
      FROM runs r
    UNION ALL
    SELECT format('4 %s m %s', lpad(m.size::text, 9, '0'), lpad(m.max_bytes, 12)), 'catalog sync',
           format('peak backend memory, catalog_sync of %s course runs, catalog_max_bytes = %s',
                  to_char(m.size, 'FM999,999,999'), m.max_bytes),
           1, NULL, NULL, NULL,
           format('private (RssAnon) +%s MB; VmHWM +%s MB; status %s after %s pages',
                  round((m.rss_anon_peak_kb - m.rss_anon_before_kb) / 1024.0),
                  round((m.vm_hwm_after_kb - m.vm_rss_before_kb) / 1024.0), m.status, m.pages),
           NULL, NULL
      FROM coursenav_bench.catalog_memory m
$$;

-- The Demo Course's rebuild; its reads come from read_report.
CREATE FUNCTION coursenav_bench.demo_report()
RETURNS SETOF coursenav_bench.report_row
LANGUAGE sql AS $$
    SELECT '5 2', 'demo course', format('coursenav.rebuild, Demo Course, %s', coursenav_bench.blocks_label(d.n_blocks)),
           1, NULL, coursenav_bench.ms(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms)), NULL,
           format('median of %s runs (%s to %s ms)', count(*), coursenav_bench.ms(min(r.ms)), coursenav_bench.ms(max(r.ms))),
           NULL, NULL
      FROM coursenav_bench.demo_course d, coursenav_bench.demo_rebuild_runs r
     WHERE d.fixture_present
     GROUP BY d.n_blocks
    UNION ALL
    SELECT '5', 'demo course', 'not measured: Demo Course fixture absent (../shared/fixtures)',
           NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM coursenav_bench.demo_course d WHERE NOT d.fixture_present
$$;

-- The one table .ci/bench.sh prints.
CREATE FUNCTION coursenav_bench.report(
    read_target_sizes int[], rebuild_small int, rebuild_large int, growth_from int, memory_size int,
    writes_size int, readers int, catalog_small int, catalog_large int)
RETURNS TABLE (section text, workload text, clients int, tps text, "p50 ms" text, "p99 ms" text,
               result text, target text, verdict text)
LANGUAGE sql AS $$
    SELECT section, workload, clients, tps, p50_ms, p99_ms, result, target, verdict FROM (
        SELECT * FROM coursenav_bench.read_report(read_target_sizes)
        UNION ALL
        SELECT * FROM coursenav_bench.rebuild_report(rebuild_small, rebuild_large, growth_from, memory_size)
        UNION ALL
        SELECT * FROM coursenav_bench.writes_report(writes_size, readers)
        UNION ALL
        SELECT * FROM coursenav_bench.catalog_report(catalog_small, catalog_large)
        UNION ALL
        SELECT * FROM coursenav_bench.demo_report()
    ) rows
    ORDER BY ord
$$;

-- Reads past one machine: a streaming hot standby of the benchmark's
-- cluster. Each bump's commit time on the primary (track_commit_timestamp)
-- and the instant a poller on the standby first saw that version (same
-- machine, same clock), and pgbench's read TPS on each node.
CREATE TABLE coursenav_bench.standby_seen (block_structure_version uuid PRIMARY KEY, seen_at timestamptz NOT NULL);
-- What psql printed to stderr running tests/bench/standby_poller.sql, a line a
-- row: "psql:...: NOTICE:  seen <version> at <timestamp>" for each version seen.
CREATE TABLE coursenav_bench.standby_poller_output (line_no bigint GENERATED ALWAYS AS IDENTITY, line text NOT NULL);

-- Turns the loaded poller output into the versions seen on the standby, and empties it.
CREATE FUNCTION coursenav_bench.take_standby_poller_output()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coursenav_bench.standby_seen (block_structure_version, seen_at)
    SELECT m[1]::uuid, m[2]::timestamptz
      FROM coursenav_bench.standby_poller_output o, regexp_match(o.line, 'NOTICE:  seen (\S+) at (.+)$') m
     WHERE m IS NOT NULL;
    TRUNCATE coursenav_bench.standby_poller_output;
END $$;
CREATE TABLE coursenav_bench.standby_reads (node text, clients int, tps float8);

CREATE FUNCTION coursenav_bench.standby_report(course_id text, size int)
RETURNS TABLE (what text, clients text, tps text, p50_ms text, p99_ms text, detail text)
LANGUAGE sql AS $$
    WITH lag AS (
        SELECT extract(epoch FROM s.seen_at - pg_xact_commit_timestamp(h.xmin)) * 1000 AS ms
          FROM coursenav.version_history h
          JOIN coursenav_bench.standby_seen s USING (block_structure_version)
         WHERE h.course_id = standby_report.course_id AND h.course_version LIKE 'standby-%'
    ), bumps AS (
        SELECT count(*) AS n FROM coursenav.version_history h
         WHERE h.course_id = standby_report.course_id AND h.course_version LIKE 'standby-%'
    )
    SELECT 'bump commit on the primary -> new tree served by the standby', '',  '',
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2)::text,
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2)::text,
           format('%s of %s bumps seen on the standby; max %s ms', count(*), (SELECT n FROM bumps),
                  round(max(ms)::numeric, 2))
      FROM lag
    UNION ALL
    SELECT format('navigation_tree, %s blocks, on the %s', size, r.node), r.clients::text,
           to_char(r.tps, 'FM999,999,990.0'), '', '',
           CASE WHEN r.node = 'standby' THEN
                format('%sx the primary''s TPS', round((r.tps / p.tps)::numeric, 2)) ELSE '' END
      FROM coursenav_bench.standby_reads r
      LEFT JOIN coursenav_bench.standby_reads p ON p.node = 'primary' AND p.clients = r.clients
     ORDER BY 1 DESC, 2;
$$;
