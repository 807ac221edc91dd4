-- Every row of the README's errors table (README.md, "SQL API" / "Errors"),
-- raised by example. After each error psql shows its SQLSTATE; README's table
-- and the SQLSTATEs shown here must list the same codes
-- (tests/blackbox/readme.rs). Every message names the course, block, rebuild,
-- argument or setting at fault.

-- A fresh install for this file, so rebuild ids start at 1.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
DROP ROLE IF EXISTS regress_stranger;
RESET client_min_messages;
CREATE EXTENSION coursenav;
-- Where in coursenav's SQL an error was raised is no part of the API.
\set SHOW_CONTEXT never
\set mask_uuids '| sed -E ''s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/g'''

-- A course that serves (rebuild 1), to show that no error below changes it.
\o :mask_uuids
SELECT coursenav.rebuild('course-v1:A+B+C', 'v1', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "display_name": "Week 1", "children": []}}}');
\o

------------------------------------------------------------------------------
-- 22023 invalid_parameter_value
------------------------------------------------------------------------------

-- A malformed course key.
SELECT coursenav.publish_course('DemoX', 'v2');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.navigation_tree('course-v1:Only+Two');
\echo SQLSTATE :SQLSTATE
-- A malformed block key.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["not-a-key"]},
    "not-a-key": {"type": "chapter"}}}');
\echo SQLSTATE :SQLSTATE
-- A block of another course.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:X+Y+Z+type@chapter+block@c1"]},
    "block-v1:X+Y+Z+type@chapter+block@c1": {"type": "chapter"}}}');
\echo SQLSTATE :SQLSTATE
-- JSON that is not the Course Blocks shape.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '"just text"');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": [1, 2]}');
\echo SQLSTATE :SQLSTATE
-- A field of the wrong type, a number beyond a double, a date that is not RFC 3339.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "graded": "yes", "children": []}}}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "graded": 1e400, "children": []}}}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "due": "next Tuesday", "children": []}}}');
\echo SQLSTATE :SQLSTATE
-- Two different roots, in two chunks of one rebuild (psql keeps its id in :two_roots).
SELECT coursenav.begin_rebuild('course-v1:A+B+C', 'v2') AS two_roots \gset
SELECT coursenav.add_blocks(:two_roots, '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}');
SELECT coursenav.add_blocks(:two_roots, '{"root": "block-v1:A+B+C+type@course+block@other", "blocks": {
    "block-v1:A+B+C+type@course+block@other": {"type": "course", "children": []}}}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.fail_rebuild(:two_roots, 'two roots');
-- An overview that is not an object, has a field of the wrong type or a bad
-- date, or names another course in its id.
SELECT coursenav.publish_course('course-v1:A+B+C', 'v3', '["Demo"]');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.publish_course('course-v1:A+B+C', 'v3', '{"self_paced": "yes"}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.publish_course('course-v1:A+B+C', 'v3', '{"start": "next Tuesday"}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.publish_course('course-v1:A+B+C', 'v3', '{"id": "course-v1:X+Y+Z"}');
\echo SQLSTATE :SQLSTATE
-- A course key longer than 255 bytes, and a course_version.
SELECT coursenav.publish_course('course-v1:A+B+' || repeat('C', 250), 'v2');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.publish_course('course-v1:A+B+C', repeat('f', 256));
\echo SQLSTATE :SQLSTATE

------------------------------------------------------------------------------
-- 23514 check_violation: found when the whole structure is validated
------------------------------------------------------------------------------

-- No root.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}');
\echo SQLSTATE :SQLSTATE
-- A root that is not a course.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@chapter+block@c1", "blocks": {
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": []}}}');
\echo SQLSTATE :SQLSTATE
-- A child with no block.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": ["block-v1:A+B+C+type@sequential+block@ghost"]}}}');
\echo SQLSTATE :SQLSTATE
-- A cycle.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": ["block-v1:A+B+C+type@html+block@h1"]},
    "block-v1:A+B+C+type@html+block@h1": {"type": "html", "children": ["block-v1:A+B+C+type@html+block@h1"]}}}');
\echo SQLSTATE :SQLSTATE
-- A sequential with two parents.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course",
        "children": ["block-v1:A+B+C+type@chapter+block@c1", "block-v1:A+B+C+type@chapter+block@c2"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": ["block-v1:A+B+C+type@sequential+block@s1"]},
    "block-v1:A+B+C+type@chapter+block@c2": {"type": "chapter", "children": ["block-v1:A+B+C+type@sequential+block@s1"]},
    "block-v1:A+B+C+type@sequential+block@s1": {"type": "sequential", "children": []}}}');
\echo SQLSTATE :SQLSTATE
-- A child listed twice.
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course",
        "children": ["block-v1:A+B+C+type@chapter+block@c1", "block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": []}}}');
\echo SQLSTATE :SQLSTATE

------------------------------------------------------------------------------
-- 23505 unique_violation
------------------------------------------------------------------------------

-- The same block in two chunks of one rebuild, found on completion; the
-- rebuild stays building.
SELECT coursenav.begin_rebuild('course-v1:A+B+C', 'v4') AS twice \gset
SELECT coursenav.add_blocks(:twice, '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}');
SELECT coursenav.add_blocks(:twice, '{"blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}');
SELECT coursenav.complete_rebuild(:twice);
\echo SQLSTATE :SQLSTATE
SELECT status FROM coursenav.block_structures WHERE rebuild_id = :twice;

------------------------------------------------------------------------------
-- 55000 object_not_in_prerequisite_state
------------------------------------------------------------------------------

-- Completing or failing a rebuild that is not building.
SELECT coursenav.complete_rebuild(1);
\echo SQLSTATE :SQLSTATE
SELECT coursenav.fail_rebuild(:two_roots, 'again');
\echo SQLSTATE :SQLSTATE
-- add_blocks after completion.
SELECT coursenav.add_blocks(1, '{"blocks": {
    "block-v1:A+B+C+type@chapter+block@c2": {"type": "chapter", "children": []}}}');
\echo SQLSTATE :SQLSTATE
-- schedule_catalog_sync without pg_cron; the hint says how to install it.
SELECT coursenav.schedule_catalog_sync();
\echo SQLSTATE :SQLSTATE

------------------------------------------------------------------------------
-- 54000 program_limit_exceeded
------------------------------------------------------------------------------

-- More blocks than coursenav.max_blocks.
SET coursenav.max_blocks = 1;
SELECT coursenav.rebuild('course-v1:A+B+C', 'v5', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": []}}}');
\echo SQLSTATE :SQLSTATE
RESET coursenav.max_blocks;

------------------------------------------------------------------------------
-- 22004 null_value_not_allowed
------------------------------------------------------------------------------

SELECT coursenav.publish_course(NULL, 'v2');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', NULL);
\echo SQLSTATE :SQLSTATE
SELECT coursenav.add_blocks(NULL, '{}');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.complete_rebuild(NULL);
\echo SQLSTATE :SQLSTATE

------------------------------------------------------------------------------
-- 42704 undefined_object
------------------------------------------------------------------------------

SELECT coursenav.complete_rebuild(987654321);
\echo SQLSTATE :SQLSTATE
SELECT coursenav.add_blocks(987654321, '{"blocks": {}}');
\echo SQLSTATE :SQLSTATE

------------------------------------------------------------------------------
-- 42501 insufficient_privilege
------------------------------------------------------------------------------

-- A role granted neither coursenav_writer nor coursenav_reader.
CREATE ROLE regress_stranger;
SET ROLE regress_stranger;
SELECT coursenav.publish_course('course-v1:A+B+C', 'v2');
\echo SQLSTATE :SQLSTATE
SELECT coursenav.navigation_tree('course-v1:A+B+C');
\echo SQLSTATE :SQLSTATE
-- A reader calling a writer's function.
RESET ROLE;
GRANT coursenav_reader TO regress_stranger;
SET ROLE regress_stranger;
SELECT coursenav.publish_course('course-v1:A+B+C', 'v2');
\echo SQLSTATE :SQLSTATE
-- Anyone but a superuser setting a superuser-only setting.
SET coursenav.max_blocks = 1000000;
\echo SQLSTATE :SQLSTATE
SET coursenav.keep_structures = 1;
\echo SQLSTATE :SQLSTATE
SET coursenav.rebuild_timeout = 0;
\echo SQLSTATE :SQLSTATE
SET coursenav.catalog_max_bytes = '1TB';
\echo SQLSTATE :SQLSTATE
SET coursenav.catalog_api_url = 'https://elsewhere.example.com';
\echo SQLSTATE :SQLSTATE
RESET ROLE;
DROP ROLE regress_stranger;

------------------------------------------------------------------------------
-- After all of the above, rebuild 1 still serves, untouched.
------------------------------------------------------------------------------

SELECT course_version, block_structure_version IS NOT NULL AS serving
  FROM coursenav.course_versions v JOIN coursenav.block_structures s USING (course_id, rebuild_id);
SELECT rebuild_id, course_version, status, error FROM coursenav.block_structures ORDER BY rebuild_id;

------------------------------------------------------------------------------
-- 0A000 feature_not_supported
------------------------------------------------------------------------------

-- PREPARE TRANSACTION of a transaction that completed a rebuild: its NOTIFY
-- cannot be prepared. The transaction ends, rolled back; rebuild 1 serves.
BEGIN;
SELECT coursenav.rebuild('course-v1:A+B+C', 'v6', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}') IS NOT NULL AS bumped;
PREPARE TRANSACTION 'coursenav-2pc';
\echo SQLSTATE :SQLSTATE
SELECT built_from_version, (SELECT count(*) FROM pg_prepared_xacts) AS prepared
  FROM coursenav.course_versions;
-- CREATE EXTENSION coursenav in a database whose encoding is not UTF8.
\set regress_database :DBNAME
CREATE DATABASE coursenav_regress_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C';
\c coursenav_regress_latin1
CREATE EXTENSION coursenav;
\echo SQLSTATE :SQLSTATE
\c :regress_database
DROP DATABASE coursenav_regress_latin1;
