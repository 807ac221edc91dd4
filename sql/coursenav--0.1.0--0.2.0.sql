-- coursenav 0.1.0 -> 0.2.0
--
-- No input takes the cluster down: exact answers at the edges.
-- * A database that is not UTF8 is refused (it would garble keys and
--   refuse non-ASCII names); upgrading one fails here, with the reason.
-- * publish_course refuses a course_version longer than 255 bytes, so every
--   NOTIFY about the course fits and the course can always be rebuilt and
--   deleted.
-- * delete_course waits for a concurrent add_blocks of the course and
--   deletes its chunk too, instead of leaving it behind with no rebuild.
-- * Every API function says what it is for and who may call it.
-- * The catalog sync locks a row no stranger can lock, instead of an
--   advisory lock any role could hold to stop every run.
-- * coursenav.catalog_sync_schedule shows the pg_cron job's last scheduled
--   run (one that never reached the database too) beside the sync's own.
-- * Nothing left hanging: rebuilds idle past coursenav.rebuild_timeout are
--   failed by the next rebuild of their course and by fail_stale_rebuilds().

DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'coursenav needs a UTF8 database; database "%" is %',
            pg_catalog.current_database(), pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8'' (from template0), as Open edX''s are.';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION coursenav.publish_course(course_id text, course_version text, overview jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_publish coursenav.publish_log;
BEGIN
    PERFORM coursenav.require(course_id, 'course_id', 'publish_course');
    PERFORM coursenav.require(course_version, 'course_version', 'publish_course');
    PERFORM coursenav.assert_course_key(course_id);
    -- As long as a key at most (Open edX versions are 24 hex digits), so
    -- every NOTIFY about the course stays far below its 8,000-byte limit.
    IF pg_catalog.octet_length(course_version) > 255 THEN
        RAISE EXCEPTION 'coursenav: course "%": course_version is % bytes, more than the 255 a version may hold',
            course_id, pg_catalog.octet_length(course_version)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF overview IS NOT NULL THEN
        PERFORM coursenav.store_overview(course_id, overview);
    END IF;

    INSERT INTO coursenav.publish_log AS p (course_id, course_version)
    VALUES (publish_course.course_id, publish_course.course_version)
    ON CONFLICT ON CONSTRAINT publish_log_course_id_course_version_key DO NOTHING
    RETURNING p.* INTO new_publish;
    IF new_publish.publish_id IS NULL THEN
        RETURN (SELECT p.publish_id FROM coursenav.publish_log p
                 WHERE p.course_id = publish_course.course_id
                   AND p.course_version = publish_course.course_version);
    END IF;

    INSERT INTO coursenav.course_versions AS v (course_id, published_version, publish_id, published_at)
    VALUES (new_publish.course_id, new_publish.course_version, new_publish.publish_id, new_publish.published_at)
    ON CONFLICT ON CONSTRAINT course_versions_pkey DO UPDATE
       SET published_version = excluded.published_version,
           publish_id = excluded.publish_id,
           published_at = excluded.published_at
     WHERE v.publish_id IS NULL OR v.publish_id < excluded.publish_id;
    RETURN new_publish.publish_id;
END $$;

CREATE OR REPLACE FUNCTION coursenav.delete_course(course_id text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known boolean := false;
    found_rows bigint;
BEGIN
    PERFORM coursenav.require(course_id, 'course_id', 'delete_course');
    PERFORM coursenav.assert_course_key(course_id);
    -- Lock the course's rebuilds first, in the order completions take their
    -- locks (rebuild row, then version row), so the two never deadlock.
    -- add_blocks holds its rebuild's row lock until it commits: waiting for
    -- it here means the chunk it adds is committed, and so seen and deleted
    -- by the statements below (each takes a new snapshot), never left
    -- behind with no rebuild to own it.
    PERFORM 1 FROM coursenav.block_structures s WHERE s.course_id = delete_course.course_id
      ORDER BY s.rebuild_id FOR UPDATE;
    -- Completions of this course lock its version row: wait for them.
    PERFORM 1 FROM coursenav.course_versions v WHERE v.course_id = delete_course.course_id FOR UPDATE;
    DELETE FROM coursenav.navigation_trees t WHERE t.course_id = delete_course.course_id;
    DELETE FROM coursenav.version_history h WHERE h.course_id = delete_course.course_id;
    DELETE FROM coursenav.course_versions v WHERE v.course_id = delete_course.course_id;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    known := known OR found_rows > 0;
    DELETE FROM coursenav.block_chunks c WHERE c.course_id = delete_course.course_id;
    DELETE FROM coursenav.block_structures s WHERE s.course_id = delete_course.course_id;
    DELETE FROM coursenav.publish_log p WHERE p.course_id = delete_course.course_id;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    known := known OR found_rows > 0;
    DELETE FROM coursenav.course_overviews o WHERE o.course_id = delete_course.course_id;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    known := known OR found_rows > 0;
    IF known THEN
        PERFORM pg_catalog.pg_notify('coursenav_version', pg_catalog.json_build_object(
            'course_id', delete_course.course_id,
            'block_structure_version', NULL,
            'course_version', NULL)::text);
    END IF;
    RETURN known;
END $$;

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
REVOKE ALL ON coursenav.catalog_sync_lock FROM PUBLIC;   -- as grants.sql leaves every table
COMMENT ON TABLE coursenav.catalog_sync_lock IS
    'One row, locked by the catalog sync run in progress; the owner''s alone.';


CREATE FUNCTION coursenav.rebuild_timeout_seconds() RETURNS integer
    STABLE PARALLEL SAFE STRICT SET search_path = pg_catalog, pg_temp
    LANGUAGE c AS 'MODULE_PATHNAME', 'rebuild_timeout_seconds_wrapper';
REVOKE ALL ON FUNCTION coursenav.rebuild_timeout_seconds() FROM PUBLIC;
CREATE FUNCTION coursenav.fail_stale_rebuilds(course_id text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    timeout_s integer := coursenav.rebuild_timeout_seconds();
    failed integer;
BEGIN
    IF timeout_s = 0 THEN
        RETURN 0;
    END IF;
    WITH stale AS (
        SELECT s.course_id, s.rebuild_id, last_added.at AS last_activity
          FROM coursenav.block_structures s,
               LATERAL (SELECT greatest(s.started_at, max(c.added_at)) AS at
                          FROM coursenav.block_chunks c
                         WHERE c.course_id = s.course_id AND c.rebuild_id = s.rebuild_id) last_added
         WHERE s.status = 'building'
           AND (fail_stale_rebuilds.course_id IS NULL OR s.course_id = fail_stale_rebuilds.course_id)
           AND last_added.at < clock_timestamp() - make_interval(secs => timeout_s)
           FOR UPDATE OF s SKIP LOCKED
    ), chunks AS (
        DELETE FROM coursenav.block_chunks c USING stale
         WHERE c.course_id = stale.course_id AND c.rebuild_id = stale.rebuild_id
    )
    UPDATE coursenav.block_structures s
       SET status = 'failed', completed_at = clock_timestamp(),
           error = format('timed out: building with nothing added since %s, longer than coursenav.rebuild_timeout (%s s); failed by coursenav.fail_stale_rebuilds',
                          stale.last_activity, timeout_s)
      FROM stale
     WHERE s.course_id = stale.course_id AND s.rebuild_id = stale.rebuild_id;
    GET DIAGNOSTICS failed = ROW_COUNT;
    IF failed > 0 THEN
        RAISE LOG 'coursenav: failed % abandoned rebuild(s) building for longer than coursenav.rebuild_timeout (% s)',
            failed, timeout_s;
    END IF;
    RETURN failed;
END $$;
REVOKE ALL ON FUNCTION coursenav.fail_stale_rebuilds(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION coursenav.fail_stale_rebuilds(text) TO coursenav_writer;
CREATE OR REPLACE FUNCTION coursenav.begin_rebuild(course_id text, course_version text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    publish bigint;
    new_id bigint;
BEGIN
    PERFORM coursenav.require(course_id, 'course_id', 'begin_rebuild');
    PERFORM coursenav.require(course_version, 'course_version', 'begin_rebuild');
    publish := coursenav.publish_course(course_id, course_version);
    PERFORM coursenav.fail_stale_rebuilds(course_id);
    INSERT INTO coursenav.block_structures AS s (course_id, course_version, publish_id)
    VALUES (begin_rebuild.course_id, begin_rebuild.course_version, publish)
    RETURNING s.rebuild_id INTO new_id;
    RETURN new_id;
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
        USING coursenav.catalog_sync_job_name();
END $$;

CREATE VIEW coursenav.catalog_sync_schedule AS
SELECT * FROM coursenav.catalog_sync_schedule_status();
COMMENT ON VIEW coursenav.catalog_sync_schedule IS
    'The catalog sync''s pg_cron job, its last scheduled run as pg_cron saw it, and the sync''s own last run.';
REVOKE ALL ON FUNCTION coursenav.catalog_sync_schedule_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION coursenav.catalog_sync_schedule_status() TO pg_monitor;
GRANT SELECT ON coursenav.catalog_sync_schedule TO pg_monitor;

-- The API documents itself: `\df+ coursenav.*` shows what each function is
-- for and who may call it. Functions with no comment are internal.
COMMENT ON FUNCTION coursenav.publish_course(text, text, jsonb) IS
    'Writer. Records a publish of course_version (and, given, the course-owned overview fields); returns its publish_id. The serving structure keeps serving.';
COMMENT ON FUNCTION coursenav.begin_rebuild(text, text) IS
    'Writer. Starts a rebuild of course_version (recording its publish if new); returns the rebuild id for add_blocks and complete_rebuild.';
COMMENT ON FUNCTION coursenav.add_blocks(bigint, jsonb) IS
    'Writer. Checks and stores one Course Blocks chunk of a building rebuild; returns how many blocks it added.';
COMMENT ON FUNCTION coursenav.complete_rebuild(bigint) IS
    'Writer. Validates the whole structure, bumps block_structure_version and materialises the tree, in this transaction; returns the new version, or NULL if superseded.';
COMMENT ON FUNCTION coursenav.fail_rebuild(bigint, text) IS
    'Writer. Marks a building rebuild failed with the reason; the previous version keeps serving.';
COMMENT ON FUNCTION coursenav.rebuild(text, text, jsonb) IS
    'Writer. begin_rebuild, add_blocks and complete_rebuild in one call; returns the new block_structure_version.';
COMMENT ON FUNCTION coursenav.delete_course(text) IS
    'Writer. Deletes everything coursenav holds about a course and notifies listeners; returns whether the course was known.';
COMMENT ON FUNCTION coursenav.fail_stale_rebuilds(text) IS
    'Writer. Fails the rebuilds (of one course, or all) left building with nothing added for longer than coursenav.rebuild_timeout, and drops their chunks; returns how many. begin_rebuild does it for its course.';
COMMENT ON FUNCTION coursenav.catalog_sync() IS
    'Writer. Runs one catalog sync (marketing URL, financial aid, language) and returns its run row; failures are recorded, not raised.';
COMMENT ON FUNCTION coursenav.navigation_tree(text) IS
    'Reader. The navigation sidebar (course, chapters, sequentials, verticals) of the serving structure, as json; NULL if never rebuilt.';
COMMENT ON FUNCTION coursenav.block_structure_version(text) IS
    'Reader. The block_structure_version now serving; NULL if never rebuilt.';
COMMENT ON FUNCTION coursenav.course_about_url(text) IS
    'Reader. The link to the course''s about page by Open edX''s rules (social sharing, marketing site, LMS); NULL without an overview.';
COMMENT ON FUNCTION coursenav.assert_course_key(text) IS
    'Reader. Returns the course key unchanged, or raises 22023 if it is not a valid Open edX course key.';
COMMENT ON FUNCTION coursenav.set_catalog_token(text) IS
    'Owner. Stores (NULL: removes) the catalog bearer token; prefer coursenav.catalog_token_file, which keeps it out of SQL.';
COMMENT ON FUNCTION coursenav.schedule_catalog_sync(text) IS
    'Owner. Schedules catalog_sync with pg_cron (cron syntax, default every four hours), replacing an earlier schedule; returns the job id.';
COMMENT ON FUNCTION coursenav.unschedule_catalog_sync() IS
    'Owner. Removes the pg_cron job of catalog_sync; returns whether there was one.';
