-- Roles and what each may do (README.md, "Operating coursenav" / "Roles and
-- what each may do"): the README's grants as they are written
-- (tests/blackbox/readme.rs checks that they appear here unchanged), then
-- what a writer, a reader, a monitoring role and a role granted nothing may
-- do, by example.

-- A fresh install for this file, the README's two login roles, and a course.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
DROP ROLE IF EXISTS lms;
DROP ROLE IF EXISTS dba;
RESET client_min_messages;
CREATE EXTENSION coursenav;
CREATE ROLE lms LOGIN;
CREATE ROLE dba LOGIN;
\set SHOW_CONTEXT never
SELECT coursenav.rebuild('course-v1:A+B+C', 'v1', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}') IS NOT NULL AS serving;

-- The README's grants.
GRANT coursenav_writer TO lms;        -- publish, rebuild, delete courses, run the catalog sync
GRANT coursenav_reader TO lms;        -- navigation_tree, block_structure_version, course_about_url, the overviews
GRANT pg_monitor TO dba;              -- the DBA views, the version tables, the sync runs
REVOKE coursenav_writer, coursenav_reader FROM lms;   -- back to nothing

-- lms, granted nothing again, can do nothing with coursenav.
SET ROLE lms;
SELECT coursenav.navigation_tree('course-v1:A+B+C');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM coursenav.course_overviews;
\echo SQLSTATE :SQLSTATE
RESET ROLE;

-- A writer publishes and rebuilds, but never writes a tree, a version or a
-- rebuild's status itself, and calls no read function.
GRANT coursenav_writer TO lms;
SET ROLE lms;
SELECT coursenav.publish_course('course-v1:A+B+C', 'v2', '{"display_name": "Renamed"}');
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}') IS NOT NULL AS serving;
UPDATE coursenav.navigation_trees SET tree = '{}';
\echo SQLSTATE :SQLSTATE
UPDATE coursenav.block_structures SET status = 'complete';
\echo SQLSTATE :SQLSTATE
SELECT coursenav.navigation_tree('course-v1:A+B+C');
\echo SQLSTATE :SQLSTATE
RESET ROLE;
REVOKE coursenav_writer FROM lms;

-- A reader calls the read functions and reads the overviews, and nothing else.
GRANT coursenav_reader TO lms;
SET ROLE lms;
SELECT coursenav.navigation_tree('course-v1:A+B+C') ->> 'course_version' AS serving;
SELECT course_id, display_name FROM coursenav.course_overviews;
SELECT coursenav.publish_course('course-v1:A+B+C', 'v3');
\echo SQLSTATE :SQLSTATE
SELECT count(*) FROM coursenav.course_versions;
\echo SQLSTATE :SQLSTATE
RESET ROLE;

-- A monitoring role reads the DBA views, the version tables and the sync
-- runs; never the token, and it calls no function.
SET ROLE dba;
SELECT course_id, published_version, built_from_version, lagging FROM coursenav.course_status;
SELECT count(*) AS runs FROM coursenav.catalog_sync_runs;
SELECT token FROM coursenav.catalog_credentials;
\echo SQLSTATE :SQLSTATE
SELECT coursenav.navigation_tree('course-v1:A+B+C');
\echo SQLSTATE :SQLSTATE
RESET ROLE;

DROP ROLE lms;
DROP ROLE dba;
