-- The README's SQL API example, run as it is written there (README.md, "SQL
-- API"; tests/blackbox/readme.rs checks that the README's block appears here
-- unchanged). The psql lines around some statements (\o, \pset) only mask
-- the uuids they print, which are new on every run, and print the tree on a
-- line of its own.

-- A fresh database for this file: no coursenav yet, so ids start at 1.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
RESET client_min_messages;
\set mask_uuids '| sed -E ''s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/g'''

CREATE EXTENSION coursenav;

-- A publish: records the course_version. The structure now serving keeps serving.
SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000a');
-- The same with the course's overview (optional third argument, see below).
SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000a',
                                '{"display_name": "Demo", "start": "2030-01-15T00:00:00Z", "self_paced": true}');

-- A rebuild in one call: begin, add the Course Blocks document, complete.
-- Returns the new block_structure_version (NULL if a newer publish already serves).
\o :mask_uuids
SELECT coursenav.rebuild('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000a', '{
  "root": "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course",
  "blocks": {
    "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course":
      {"type": "course", "display_name": "Demo", "children": ["block-v1:OpenedX+DemoX+DemoCourse+type@chapter+block@c1"]},
    "block-v1:OpenedX+DemoX+DemoCourse+type@chapter+block@c1":
      {"type": "chapter", "display_name": "Week 1", "children": ["block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@s1"]},
    "block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@s1":
      {"type": "sequential", "display_name": "Homework", "graded": true, "format": "Homework",
       "due": "2030-01-15T12:00:00Z", "children": []}
  }}');
\o

-- The same in steps, for a large course sent in chunks. Each chunk is a Course
-- Blocks document holding some of the blocks; one of them names the root.
SELECT coursenav.begin_rebuild('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000b');  -- returns a rebuild id, here 2
SELECT coursenav.add_blocks(2, '{"root": "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course", "blocks": {
    "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course":
      {"type": "course", "display_name": "Demo", "children": ["block-v1:OpenedX+DemoX+DemoCourse+type@chapter+block@c1"]}}}');
SELECT coursenav.add_blocks(2, '{"blocks": {
    "block-v1:OpenedX+DemoX+DemoCourse+type@chapter+block@c1":
      {"type": "chapter", "display_name": "Week 1", "children": []}}}');  -- as often as needed; returns how many
\o :mask_uuids
SELECT coursenav.complete_rebuild(2);                                  -- fires the trigger; returns the new version
\o
-- Or give up on a rebuild: it is marked failed and the version serving does not change.
SELECT coursenav.begin_rebuild('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000c');  -- 3
SELECT coursenav.fail_rebuild(3, 'collector timed out');

-- Reading (coursenav_reader, on the primary or a hot standby):
\o :mask_uuids
\pset format unaligned
SELECT coursenav.navigation_tree('course-v1:OpenedX+DemoX+DemoCourse');          -- json, or NULL
\pset format aligned
\o
\o :mask_uuids
SELECT coursenav.block_structure_version('course-v1:OpenedX+DemoX+DemoCourse');  -- uuid, or NULL
\o
SELECT coursenav.course_about_url('course-v1:OpenedX+DemoX+DemoCourse');         -- text, or NULL

-- Deleting a course: overview, structures, blocks, versions, history, tree
-- and publish log go together. Returns whether the course was known.
SELECT coursenav.delete_course('course-v1:OpenedX+DemoX+DemoCourse');

-- The course is gone, all of it; deleting it again says it was not known.
SELECT (SELECT count(*) FROM coursenav.publish_log) AS publishes,
       (SELECT count(*) FROM coursenav.block_structures) AS rebuilds,
       (SELECT count(*) FROM coursenav.block_chunks) AS chunks,
       (SELECT count(*) FROM coursenav.course_versions) AS versions,
       (SELECT count(*) FROM coursenav.version_history) AS bumps,
       (SELECT count(*) FROM coursenav.navigation_trees) AS trees,
       (SELECT count(*) FROM coursenav.course_overviews) AS overviews;
SELECT coursenav.navigation_tree('course-v1:OpenedX+DemoX+DemoCourse') IS NULL AS no_tree;
SELECT coursenav.delete_course('course-v1:OpenedX+DemoX+DemoCourse');
