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
-- calls (require, build_navigation, ...) are granted to no one.
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
REVOKE ALL ON ALL TABLES IN SCHEMA coursenav FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    coursenav.publish_course(text, text, jsonb),
    coursenav.begin_rebuild(text, text),
    coursenav.add_blocks(bigint, jsonb),
    coursenav.complete_rebuild(bigint),
    coursenav.fail_rebuild(bigint, text),
    coursenav.rebuild(text, text, jsonb),
    coursenav.delete_course(text),
    coursenav.catalog_sync()
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
    coursenav.catalog_sync_runs
TO pg_monitor;
