-- The navigation tree by example (README.md, "SQL API", after the example):
-- the Open edX sidebar shape, children in authored order, effective start and
-- staff-only, has_scheduled_content, and the NOTIFY sent on every bump.

-- A fresh install for this file.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
RESET client_min_messages;
CREATE EXTENSION coursenav;
\set mask_uuids '| sed -E ''s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/g; s/server process with PID [0-9]+/server process with PID N/'''

-- Chapter c2 is listed before c1. c1 starts in 2030 and its sequential s1 in
-- 2029: s1 cannot open before its chapter. c2 is staff-only, and so is
-- everything below it. s1 has a due date; the html below v1 is not part of
-- the navigation.
LISTEN coursenav_version;
\o :mask_uuids
SELECT coursenav.rebuild('course-v1:A+B+C', 'v1', '{"root": "block-v1:A+B+C+type@course+block@course", "blocks": {
    "block-v1:A+B+C+type@course+block@course": {"type": "course", "display_name": "A course",
        "children": ["block-v1:A+B+C+type@chapter+block@c2", "block-v1:A+B+C+type@chapter+block@c1"]},
    "block-v1:A+B+C+type@chapter+block@c1": {"type": "chapter", "display_name": "Week 1", "start": "2030-01-01T00:00:00Z",
        "children": ["block-v1:A+B+C+type@sequential+block@s1"]},
    "block-v1:A+B+C+type@sequential+block@s1": {"type": "sequential", "display_name": "Homework",
        "start": "2029-06-01T00:00:00Z", "due": "2030-01-15T12:00:00Z", "graded": true, "format": "Homework",
        "children": ["block-v1:A+B+C+type@vertical+block@v1"]},
    "block-v1:A+B+C+type@vertical+block@v1": {"type": "vertical", "display_name": "Unit 1",
        "children": ["block-v1:A+B+C+type@html+block@h1"]},
    "block-v1:A+B+C+type@html+block@h1": {"type": "html", "display_name": "Text"},
    "block-v1:A+B+C+type@chapter+block@c2": {"type": "chapter", "display_name": "Staff notes", "visible_to_staff_only": true,
        "children": ["block-v1:A+B+C+type@sequential+block@s2"]},
    "block-v1:A+B+C+type@sequential+block@s2": {"type": "sequential", "display_name": "Grading guide", "children": []}}}');
\o
UNLISTEN coursenav_version;

-- The stamps on top, in this order.
SELECT key FROM json_each(coursenav.navigation_tree('course-v1:A+B+C'));
SELECT tree ->> 'course_id' AS course_id, tree ->> 'course_version' AS course_version, tree ->> 'root' AS root,
       tree ->> 'block_structure_version' = coursenav.block_structure_version('course-v1:A+B+C')::text AS stamped
  FROM coursenav.navigation_tree('course-v1:A+B+C') AS tree;

-- One entry per course, chapter, sequential and vertical (not below), with
-- the same fields each.
SELECT count(*) AS blocks, fields
  FROM (SELECT (SELECT array_agg(field) FROM json_object_keys(block.value) AS field) AS fields
          FROM json_each(coursenav.navigation_tree('course-v1:A+B+C') -> 'blocks') AS block) AS each_block
 GROUP BY fields;
\x on
SELECT block.value ->> 'display_name' AS display_name,
       block.value ->> 'type' AS type,
       block.value -> 'children' AS children,
       block.value ->> 'start' AS start,
       block.value ->> 'due' AS due,
       block.value ->> 'graded' AS graded,
       block.value ->> 'format' AS format,
       block.value ->> 'visible_to_staff_only' AS visible_to_staff_only,
       block.value ->> 'has_scheduled_content' AS has_scheduled_content,
       block.value ->> 'hide_from_toc' AS hide_from_toc
  FROM json_each(coursenav.navigation_tree('course-v1:A+B+C') -> 'blocks') AS block
 ORDER BY block.key;
\x off
