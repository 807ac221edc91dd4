-- Who may call what. Three kinds of role, each made by one statement:
--
--   GRANT coursenav_writer TO lms;   -- publish, rebuild, delete, catalog sync
--   GRANT coursenav_reader TO lms;   -- the read functions and the overviews
--   (neither)                        -- nothing: not even a read
--
-- Writing and reading functions are SECURITY DEFINER with a pinned
-- search_path, so neither role holds any privilege on a table: a writer can
-- publish and rebuild, but can never write a tree, a version stamp or a
-- rebuild's status itself, and serve JSON it made up. The helpers the API
-- calls (schema coursenav_internal) are granted to no one.
-- Monitoring roles (pg_monitor) read the version tables, the DBA views and
-- the catalog sync runs. The catalog token is the owner's alone.
--
-- Roles belong to the cluster, not to a database: the first CREATE
-- EXTENSION in a cluster makes them, later ones (another database, a
-- restore) find them there. DROP EXTENSION leaves them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coursenav_writer') THEN
        CREATE ROLE coursenav_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'coursenav_reader') THEN
        CREATE ROLE coursenav_reader NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE coursenav_writer IS 'coursenav: publish, rebuild, delete courses and run the catalog sync (GRANT coursenav_writer TO app).';
COMMENT ON ROLE coursenav_reader IS 'coursenav: read navigation trees, versions, about links and overviews (GRANT coursenav_reader TO app).';

REVOKE ALL ON SCHEMA coursenav FROM PUBLIC;
GRANT USAGE ON SCHEMA coursenav TO coursenav_writer, coursenav_reader, pg_monitor;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA coursenav FROM PUBLIC;
REVOKE ALL ON SCHEMA coursenav_internal FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA coursenav_internal FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA coursenav FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    coursenav.publish_course(text, text, jsonb),
    coursenav.begin_rebuild(text, text),
    coursenav.add_blocks(bigint, jsonb),
    coursenav.complete_rebuild(bigint),
    coursenav.fail_rebuild(bigint, text),
    coursenav.rebuild(text, text, jsonb),
    coursenav.delete_course(text),
    coursenav.catalog_sync(),
    coursenav.fail_stale_rebuilds(text)
TO coursenav_writer;

GRANT EXECUTE ON FUNCTION
    coursenav.navigation_tree(text),
    coursenav.block_structure_version(text),
    coursenav.assert_course_key(text),
    coursenav.course_about_url(text)
TO coursenav_reader;
GRANT SELECT ON coursenav.course_overviews TO coursenav_reader;

-- Monitoring roles see the whole version picture (never the token).
GRANT SELECT ON
    coursenav.publish_log,
    coursenav.block_structures,
    coursenav.course_versions,
    coursenav.version_history,
    coursenav.course_status,
    coursenav.structure_versions,
    coursenav.catalog_sync_runs,
    coursenav.catalog_sync_schedule
TO pg_monitor;
-- The view's function reads pg_cron's tables as the owner.
GRANT EXECUTE ON FUNCTION coursenav.catalog_sync_schedule_status() TO pg_monitor;

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
COMMENT ON FUNCTION coursenav.catalog_sync_schedule_status() IS
    'Monitor. The rows of the view coursenav.catalog_sync_schedule: the pg_cron job of catalog_sync, its last run and the sync run it made.';
