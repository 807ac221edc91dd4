-- The catalog sync: its runs, its token, and its pg_cron schedule. The
-- sync itself (HTTP, page parsing, one UPDATE per page) is run_catalog_sync
-- in Rust; catalog_sync() below returns the run's row.

-- One row per run of the catalog sync. The whole run is one transaction, so
-- a row is only ever seen finished: ok, partial (pages applied before a
-- failing page stay applied), failed (nothing applied) or skipped (another
-- run was going).
CREATE TABLE coursenav.catalog_sync_runs (
    run_id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at       timestamptz,
    status            text        NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'ok', 'partial', 'failed', 'skipped')),
    catalog_url       text,
    pages_fetched     integer     NOT NULL DEFAULT 0,
    runs_seen         bigint      NOT NULL DEFAULT 0,
    overviews_matched bigint      NOT NULL DEFAULT 0,
    not_found         bigint      NOT NULL DEFAULT 0,
    updated           bigint      NOT NULL DEFAULT 0,
    urls_rejected     bigint      NOT NULL DEFAULT 0,
    error             text
);
COMMENT ON TABLE coursenav.catalog_sync_runs IS
    'One row per catalog sync run: status, counts and the error that stopped it. The token never appears here.';
-- The runs are history a DBA keeps: dumped with their ids (see schema.sql).
SELECT pg_catalog.pg_extension_config_dump('coursenav.catalog_sync_runs', '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('coursenav.catalog_sync_runs', 'run_id')::regclass, '');

-- The lock that lets one sync run at a time: its one row, locked by a run
-- for the run's transaction (FOR UPDATE SKIP LOCKED). No role but the
-- owner holds any privilege on it, so no stranger can hold it and turn
-- every run into `skipped`, as one could holding an advisory lock's key.
-- (Like the other two catalog tables it has no course_id: it is not about a
-- course.)
CREATE TABLE coursenav.catalog_sync_lock (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
INSERT INTO coursenav.catalog_sync_lock DEFAULT VALUES;
COMMENT ON TABLE coursenav.catalog_sync_lock IS
    'One row, locked by the catalog sync run in progress; the owner''s alone.';

-- The catalog's bearer token. Only the extension's owner reads or writes it
-- (superusers aside): no grant to PUBLIC or to monitoring roles, ever.
CREATE TABLE coursenav.catalog_credentials (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    token      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE coursenav.catalog_credentials IS
    'The catalog API bearer token, readable by the extension owner only.';
-- Not dumped, on purpose: a backup file travels further and is kept longer
-- than the database, and a secret has no place in it. After a restore the
-- first sync records a `failed` run saying there is no token, until the
-- owner sets it again (or coursenav.catalog_token_file names a file).

-- Sets (or with NULL removes) the catalog's bearer token. The token is an
-- argument, not part of any message: nothing here echoes it.
CREATE FUNCTION coursenav.set_catalog_token(token text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF token IS NULL OR token = '' THEN
        DELETE FROM coursenav.catalog_credentials;
        RETURN;
    END IF;
    INSERT INTO coursenav.catalog_credentials AS c (token) VALUES (set_catalog_token.token)
    ON CONFLICT (singleton) DO UPDATE SET token = excluded.token, updated_at = clock_timestamp();
END $$;

-- Runs one catalog sync and returns its row. Catalog failures never raise:
-- they end the run as partial or failed with the error recorded (an ERROR
-- would roll the run row back with everything else). Query cancel and
-- statement_timeout do raise, between requests, and roll the run back.
CREATE FUNCTION coursenav.catalog_sync()
RETURNS coursenav.catalog_sync_runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_run_id bigint := coursenav_internal.run_catalog_sync();
    finished coursenav.catalog_sync_runs;
BEGIN
    SELECT * INTO finished FROM coursenav.catalog_sync_runs r WHERE r.run_id = new_run_id;
    RETURN finished;
END $$;

-- The name of coursenav's pg_cron job, so a second schedule replaces the first.
CREATE FUNCTION coursenav_internal.catalog_sync_job_name()
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT 'coursenav-catalog-sync' $$;

CREATE FUNCTION coursenav_internal.require_pg_cron()
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'coursenav: pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Install pg_cron (Debian: apt-get install postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' '
                      || 'and cron.database_name = ''' || current_database() || ''' in postgresql.conf, restart PostgreSQL, '
                      || 'then run CREATE EXTENSION pg_cron; in this database.',
                  DETAIL = 'schedule_catalog_sync registers the sync as a pg_cron job; without pg_cron run coursenav.catalog_sync() from any scheduler.';
    END IF;
END $$;

-- Registers the catalog sync with pg_cron (cron syntax, default every four
-- hours), replacing an earlier schedule. Returns the pg_cron job id.
CREATE FUNCTION coursenav.schedule_catalog_sync(schedule text DEFAULT '0 */4 * * *')
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM coursenav_internal.require(schedule, 'schedule', 'schedule_catalog_sync');
    PERFORM coursenav_internal.require_pg_cron();
    -- pg_cron updates a job of the same name instead of adding one.
    RETURN cron.schedule(coursenav_internal.catalog_sync_job_name(), schedule, 'SELECT coursenav.catalog_sync()');
END $$;

-- Removes the pg_cron job; returns whether there was one.
CREATE FUNCTION coursenav.unschedule_catalog_sync()
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM coursenav_internal.require_pg_cron();
    IF NOT EXISTS (SELECT 1 FROM cron.job j
                    WHERE j.jobname = coursenav_internal.catalog_sync_job_name() AND j.username = CURRENT_USER) THEN
        RETURN false;
    END IF;
    RETURN cron.unschedule(coursenav_internal.catalog_sync_job_name());
END $$;

-- The scheduled sync as a DBA needs to see it: the coursenav pg_cron job,
-- the outcome of its last scheduled run as pg_cron recorded it (a run that
-- never reached the database, such as pg_cron failing to connect, shows
-- here and nowhere in catalog_sync_runs), next to the sync's own last run.
-- No rows without pg_cron or without a schedule. pg_cron's tables are read
-- only when pg_cron is installed, so this does not depend on it.
CREATE FUNCTION coursenav.catalog_sync_schedule_status()
RETURNS TABLE (jobid bigint, schedule text, active boolean, job_owner text,
               last_run_status text, last_run_message text, last_run_started_at timestamptz,
               last_run_finished_at timestamptz, last_sync_run_id bigint, last_sync_status text,
               last_sync_started_at timestamptz, last_sync_error text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT j.jobid::bigint, j.schedule::text, j.active, j.username::text,
                d.status::text, d.return_message::text, d.start_time::timestamptz, d.end_time::timestamptz,
                r.run_id, r.status, r.started_at, r.error
           FROM cron.job j
           LEFT JOIN LATERAL (SELECT x.* FROM cron.job_run_details x WHERE x.jobid = j.jobid
                               ORDER BY x.runid DESC LIMIT 1) d ON true
           LEFT JOIN LATERAL (SELECT s.* FROM coursenav.catalog_sync_runs s
                               ORDER BY s.run_id DESC LIMIT 1) r ON true
          WHERE j.jobname OPERATOR(pg_catalog.=) $1'
        USING coursenav_internal.catalog_sync_job_name();
END $$;

CREATE VIEW coursenav.catalog_sync_schedule AS
SELECT * FROM coursenav.catalog_sync_schedule_status();
COMMENT ON VIEW coursenav.catalog_sync_schedule IS
    'The catalog sync''s pg_cron job, its last scheduled run as pg_cron saw it, and the sync''s own last run.';
