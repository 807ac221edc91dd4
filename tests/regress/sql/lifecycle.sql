-- The rules the trigger enforces (README.md, "SQL API" / "Rules the trigger
-- enforces"), by example: a late completion of an older publish is
-- superseded, publishes are ordered by the log and never by their text, and
-- a structure that fails validation leaves the rebuild building and the
-- previous version serving.

-- A fresh install for this file, so ids start at 1.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
RESET client_min_messages;
CREATE EXTENSION coursenav;
\set SHOW_CONTEXT never

-- Which version serves, and every rebuild's status.
CREATE TEMPORARY VIEW serving AS
SELECT course_id, v.published_version, v.built_from_version, t.tree ->> 'course_version' AS tree_of
  FROM coursenav.course_versions v JOIN coursenav.navigation_trees t USING (course_id) ORDER BY course_id;
CREATE TEMPORARY VIEW rebuilds AS
SELECT course_id, rebuild_id, course_version, status, block_count
  FROM coursenav.block_structures ORDER BY rebuild_id;

------------------------------------------------------------------------------
-- A completion for a version published earlier than the one serving is
-- superseded: a notice, NULL, and the version does not move back.
------------------------------------------------------------------------------

SELECT coursenav.begin_rebuild('course-v1:A+B+C', 'v1');
SELECT coursenav.add_blocks(1, '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": []}}}');
SELECT coursenav.rebuild('course-v1:A+B+C', 'v2', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "children": []}}}') IS NOT NULL AS bumped;
SELECT coursenav.complete_rebuild(1);
SELECT * FROM serving;
SELECT * FROM rebuilds;

------------------------------------------------------------------------------
-- "Earlier" is by the publish log, never by the versions' text: "b" sorts
-- after "a", but "a" was published later, so "a" is the newer one.
------------------------------------------------------------------------------

SELECT coursenav.publish_course('course-v1:X+Y+Z', 'b');
SELECT coursenav.publish_course('course-v1:X+Y+Z', 'a');
SELECT coursenav.rebuild('course-v1:X+Y+Z', 'a', '{"root": "block-v1:X+Y+Z+type@course+block@course", "blocks": {
    "block-v1:X+Y+Z+type@course+block@course": {"type": "course", "children": []}}}') IS NOT NULL AS bumped;
SELECT coursenav.rebuild('course-v1:X+Y+Z', 'b', '{"root": "block-v1:X+Y+Z+type@course+block@course", "blocks": {
    "block-v1:X+Y+Z+type@course+block@course": {"type": "course", "children": []}}}') IS NOT NULL AS bumped;
SELECT * FROM serving;

------------------------------------------------------------------------------
-- A structure that fails validation is refused; the rebuild stays building
-- and the previous version keeps serving. Adding the missing block and
-- completing again succeeds.
------------------------------------------------------------------------------

SELECT coursenav.begin_rebuild('course-v1:A+B+C', 'v3') AS v3 \gset
SELECT coursenav.add_blocks(:v3, '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "children": ["block-v1:A+B+C+type@chapter+block@c9"]}}}');
SELECT coursenav.complete_rebuild(:v3);
\echo SQLSTATE :SQLSTATE
SELECT * FROM serving;
SELECT * FROM rebuilds;
SELECT coursenav.add_blocks(:v3, '{"blocks": {
    "block-v1:A+B+C+type@chapter+block@c9": {"type": "chapter", "display_name": "Week 9", "children": []}}}');
SELECT coursenav.complete_rebuild(:v3) IS NOT NULL AS bumped;
SELECT * FROM serving;
SELECT * FROM rebuilds;
