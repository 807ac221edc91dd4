-- coursenav 0.2.0 -> 0.3.0
--
-- What the API calls and no role may moves to a schema of its own,
-- coursenav_internal, so `\df coursenav.*` is the API and nothing else; the
-- functions keep their oids, grants (none) and C symbols. The SQL functions
-- that call them are replaced with bodies naming the new schema, exactly as
-- a fresh 0.3.0 install makes them (tests/blackbox/upgrade.rs compares the
-- two). coursenav.keep_structures' default now has one owner, the Rust
-- setting, read through coursenav_internal.keep_structures().

CREATE SCHEMA coursenav_internal;
COMMENT ON SCHEMA coursenav_internal IS
    'coursenav internals: called by the coursenav API functions, never by roles.';

ALTER FUNCTION coursenav.require(anyelement, text, text) SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.lock_building_rebuild(bigint, text) SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.prune_structures(text, bigint) SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.on_rebuild_complete() SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.catalog_sync_job_name() SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.require_pg_cron() SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.build_navigation(text, bigint, text, text, text) SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.store_overview(text, jsonb) SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.run_catalog_sync() SET SCHEMA coursenav_internal;
ALTER FUNCTION coursenav.rebuild_timeout_seconds() SET SCHEMA coursenav_internal;

-- The setting prune_structures reads (its default is the Rust one).
CREATE FUNCTION coursenav_internal."keep_structures"() RETURNS INT /* i32 */
STRICT STABLE PARALLEL SAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'keep_structures_wrapper';

-- Bodies that name the moved functions.
CREATE OR REPLACE FUNCTION coursenav_internal.require(value anyelement, argument text, function_name text)
RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION 'coursenav.%: argument % must not be NULL', function_name, argument
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
END $$;

CREATE OR REPLACE FUNCTION coursenav_internal.lock_building_rebuild(p_rebuild_id bigint, action text)
RETURNS coursenav.block_structures LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found_row coursenav.block_structures;
BEGIN
    SELECT * INTO found_row FROM coursenav.block_structures s
     WHERE s.rebuild_id = p_rebuild_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'coursenav: rebuild % does not exist', p_rebuild_id
            USING ERRCODE = 'undefined_object';
    END IF;
    IF found_row.status <> 'building' THEN
        RAISE EXCEPTION 'coursenav: rebuild % of course "%" is already %; only a building rebuild can %',
            found_row.rebuild_id, found_row.course_id, found_row.status, action
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN found_row;
END $$;

CREATE OR REPLACE FUNCTION coursenav.publish_course(course_id text, course_version text, overview jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_publish coursenav.publish_log;
BEGIN
    PERFORM coursenav_internal.require(course_id, 'course_id', 'publish_course');
    PERFORM coursenav_internal.require(course_version, 'course_version', 'publish_course');
    PERFORM coursenav.assert_course_key(course_id);
    -- As long as a key at most (Open edX versions are 24 hex digits), so
    -- every NOTIFY about the course stays far below its 8,000-byte limit.
    IF pg_catalog.octet_length(course_version) > 255 THEN
        RAISE EXCEPTION 'coursenav: course "%": course_version is % bytes, more than the 255 a version may hold',
            course_id, pg_catalog.octet_length(course_version)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF overview IS NOT NULL THEN
        PERFORM coursenav_internal.store_overview(course_id, overview);
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

CREATE OR REPLACE FUNCTION coursenav.fail_stale_rebuilds(course_id text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    timeout_s integer := coursenav_internal.rebuild_timeout_seconds();
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

CREATE OR REPLACE FUNCTION coursenav.begin_rebuild(course_id text, course_version text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    publish bigint;
    new_id bigint;
BEGIN
    PERFORM coursenav_internal.require(course_id, 'course_id', 'begin_rebuild');
    PERFORM coursenav_internal.require(course_version, 'course_version', 'begin_rebuild');
    publish := coursenav.publish_course(course_id, course_version);
    PERFORM coursenav.fail_stale_rebuilds(course_id);
    INSERT INTO coursenav.block_structures AS s (course_id, course_version, publish_id)
    VALUES (begin_rebuild.course_id, begin_rebuild.course_version, publish)
    RETURNING s.rebuild_id INTO new_id;
    RETURN new_id;
END $$;

CREATE OR REPLACE FUNCTION coursenav.complete_rebuild(rebuild_id bigint)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target coursenav.block_structures;
    final_status text;
BEGIN
    PERFORM coursenav_internal.require(rebuild_id, 'rebuild_id', 'complete_rebuild');
    target := coursenav_internal.lock_building_rebuild(rebuild_id, 'be completed');
    UPDATE coursenav.block_structures s SET status = 'complete'
     WHERE s.course_id = target.course_id AND s.rebuild_id = target.rebuild_id
    RETURNING s.status INTO final_status;
    IF final_status = 'superseded' THEN
        RAISE NOTICE 'coursenav: rebuild % of course "%" at version "%" is superseded: a newer publish is already serving',
            target.rebuild_id, target.course_id, target.course_version;
        RETURN NULL;
    END IF;
    RETURN (SELECT v.block_structure_version FROM coursenav.course_versions v
             WHERE v.course_id = target.course_id);
END $$;

CREATE OR REPLACE FUNCTION coursenav.fail_rebuild(rebuild_id bigint, error text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target coursenav.block_structures;
BEGIN
    PERFORM coursenav_internal.require(rebuild_id, 'rebuild_id', 'fail_rebuild');
    PERFORM coursenav_internal.require(error, 'error', 'fail_rebuild');
    target := coursenav_internal.lock_building_rebuild(rebuild_id, 'fail');
    UPDATE coursenav.block_structures s
       SET status = 'failed', error = fail_rebuild.error, completed_at = clock_timestamp()
     WHERE s.course_id = target.course_id AND s.rebuild_id = target.rebuild_id;
END $$;

CREATE OR REPLACE FUNCTION coursenav.delete_course(course_id text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known boolean := false;
    found_rows bigint;
BEGIN
    PERFORM coursenav_internal.require(course_id, 'course_id', 'delete_course');
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

CREATE OR REPLACE FUNCTION coursenav_internal.prune_structures(course_id text, serving bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM coursenav.block_chunks c
     USING (SELECT s.rebuild_id FROM coursenav.block_structures s
             WHERE s.course_id = prune_structures.course_id
               AND s.status <> 'building' AND s.rebuild_id <> serving
             ORDER BY s.rebuild_id DESC
            OFFSET greatest(coursenav_internal.keep_structures() - 1, 0)) old
     WHERE c.course_id = prune_structures.course_id AND c.rebuild_id = old.rebuild_id;
END $$;

CREATE OR REPLACE FUNCTION coursenav_internal.on_rebuild_complete()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    serving_now coursenav.course_versions;
    new_version uuid := pg_catalog.gen_random_uuid();
    tree json;
BEGIN
    -- One completion per course at a time: the second waits here and then
    -- sees what the first committed.
    INSERT INTO coursenav.course_versions (course_id) VALUES (NEW.course_id)
    ON CONFLICT DO NOTHING;
    SELECT * INTO serving_now FROM coursenav.course_versions v
     WHERE v.course_id = NEW.course_id FOR UPDATE;

    NEW.completed_at := clock_timestamp();
    -- A late rebuild of an older publish must never move the version back.
    IF serving_now.built_from_publish_id > NEW.publish_id THEN
        NEW.status := 'superseded';
        RETURN NEW;
    END IF;

    tree := coursenav_internal.build_navigation(NEW.course_id, NEW.rebuild_id, NEW.root_key,
                                       NEW.course_version, new_version::text);

    UPDATE coursenav.course_versions v
       SET block_structure_version = new_version,
           rebuild_id = NEW.rebuild_id,
           built_from_version = NEW.course_version,
           built_from_publish_id = NEW.publish_id,
           bumped_at = NEW.completed_at
     WHERE v.course_id = NEW.course_id;
    INSERT INTO coursenav.version_history
           (course_id, block_structure_version, previous_version, rebuild_id, course_version, bumped_at)
    VALUES (NEW.course_id, new_version, serving_now.block_structure_version, NEW.rebuild_id,
            NEW.course_version, NEW.completed_at);
    INSERT INTO coursenav.navigation_trees AS t (course_id, block_structure_version, rebuild_id, tree)
    VALUES (NEW.course_id, new_version, NEW.rebuild_id, tree)
    ON CONFLICT (course_id) DO UPDATE
       SET block_structure_version = excluded.block_structure_version,
           rebuild_id = excluded.rebuild_id,
           tree = excluded.tree;
    PERFORM coursenav_internal.prune_structures(NEW.course_id, NEW.rebuild_id);
    -- Delivered at commit, so a listener never hears of an uncommitted version.
    PERFORM pg_catalog.pg_notify('coursenav_version', pg_catalog.json_build_object(
        'course_id', NEW.course_id,
        'block_structure_version', new_version,
        'course_version', NEW.course_version)::text);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION coursenav.catalog_sync()
RETURNS coursenav.catalog_sync_runs LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_run_id bigint := coursenav_internal.run_catalog_sync();
    finished coursenav.catalog_sync_runs;
BEGIN
    SELECT * INTO finished FROM coursenav.catalog_sync_runs r WHERE r.run_id = new_run_id;
    RETURN finished;
END $$;

CREATE OR REPLACE FUNCTION coursenav_internal.catalog_sync_job_name()
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT 'coursenav-catalog-sync' $$;

CREATE OR REPLACE FUNCTION coursenav_internal.require_pg_cron()
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

CREATE OR REPLACE FUNCTION coursenav.schedule_catalog_sync(schedule text DEFAULT '0 */4 * * *')
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM coursenav_internal.require(schedule, 'schedule', 'schedule_catalog_sync');
    PERFORM coursenav_internal.require_pg_cron();
    -- pg_cron updates a job of the same name instead of adding one.
    RETURN cron.schedule(coursenav_internal.catalog_sync_job_name(), schedule, 'SELECT coursenav.catalog_sync()');
END $$;

CREATE OR REPLACE FUNCTION coursenav.unschedule_catalog_sync()
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM coursenav_internal.require_pg_cron();
    IF NOT EXISTS (SELECT 1 FROM cron.job j
                    WHERE j.jobname = coursenav_internal.catalog_sync_job_name() AND j.username = CURRENT_USER) THEN
        RETURN false;
    END IF;
    RETURN cron.unschedule(coursenav_internal.catalog_sync_job_name());
END $$;

CREATE OR REPLACE FUNCTION coursenav.catalog_sync_schedule_status()
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

REVOKE ALL ON SCHEMA coursenav_internal FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA coursenav_internal FROM PUBLIC;

COMMENT ON FUNCTION coursenav.catalog_sync_schedule_status() IS
    'Monitor. The rows of the view coursenav.catalog_sync_schedule: the pg_cron job of catalog_sync, its last run and the sync run it made.';
