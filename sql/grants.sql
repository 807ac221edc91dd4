-- Who may call what. Application roles read navigation; only the
-- extension's owner (and roles it grants to) writes.

GRANT USAGE ON SCHEMA coursenav TO PUBLIC;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA coursenav FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    coursenav.navigation_tree(text),
    coursenav.block_structure_version(text),
    coursenav.assert_course_key(text),
    coursenav.course_about_url(text)
TO PUBLIC;

-- The read functions run as their caller, so the caller reads these tables.
GRANT SELECT ON coursenav.navigation_trees, coursenav.course_versions, coursenav.course_overviews TO PUBLIC;

-- The catalog token is for the extension's owner alone.
REVOKE ALL ON coursenav.catalog_credentials FROM PUBLIC;

-- Monitoring roles see the whole version picture.
GRANT SELECT ON
    coursenav.publish_log,
    coursenav.block_structures,
    coursenav.version_history,
    coursenav.course_status,
    coursenav.structure_versions,
    coursenav.catalog_sync_runs
TO pg_monitor;
