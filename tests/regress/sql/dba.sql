-- What a DBA reads (README.md, "What a DBA reads" and "Operating coursenav" /
-- "What to monitor"): every table and view of the table there, and the
-- README's queries as they are written (tests/blackbox/readme.rs checks that
-- they appear here unchanged).

-- A fresh install for this file, so ids start at 1.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS coursenav CASCADE;
RESET client_min_messages;
CREATE EXTENSION coursenav;
-- Times as psql shows them by default (pg_regress sets other styles), in UTC.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set mask_uuids '| sed -E ''s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/g'''

-- Two courses. The Demo Course serves its version ...0a (rebuild 1); ...0b
-- was published next and its rebuild (2) failed, so the course lags. The
-- second course is up to date (rebuild 3). One catalog sync ran, with no
-- catalog configured.
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
       "due": "2030-01-15T12:00:00Z", "children": [], "student_view_url": "/xblock/s1"}
  }}');
\o
SELECT coursenav.begin_rebuild('course-v1:OpenedX+DemoX+DemoCourse', '65f1c0ffee0000000000000b');
SELECT coursenav.fail_rebuild(2, 'collector timed out');
SELECT coursenav.publish_course('course-v1:OpenedX+Blended+2030', 'aa01',
                                '{"display_name": "Blended", "start": "2030-03-01T00:00:00Z"}');
\o :mask_uuids
SELECT coursenav.rebuild('course-v1:OpenedX+Blended+2030', 'aa01', '{
  "root": "block-v1:OpenedX+Blended+2030+type@course+block@course",
  "blocks": {"block-v1:OpenedX+Blended+2030+type@course+block@course": {"type": "course", "children": []}}}');
\o
SELECT run_id, status, error FROM coursenav.catalog_sync();

-- Times are the clock's: in this transaction they are pinned, so what prints
-- is the same on every run. Each publish happened 10 minutes after the one
-- before it, the last one 10 minutes ago; each rebuild took 250 ms; the
-- catalog sync ran at a fixed time and took 150 ms.
BEGIN;
UPDATE coursenav.publish_log
   SET published_at = now() - (4 - publish_id) * interval '10 minutes';
UPDATE coursenav.block_structures
   SET started_at = now() - (4 - rebuild_id) * interval '10 minutes',
       completed_at = now() - (4 - rebuild_id) * interval '10 minutes' + interval '250 milliseconds';
UPDATE coursenav.catalog_sync_runs
   SET started_at = '2030-01-15 10:00:00+00', finished_at = '2030-01-15 10:00:00.15+00';

-- The README's queries (What a DBA reads).
SELECT course_id, published_version, built_from_version, lagging, lag, last_rebuild_status
  FROM coursenav.course_status WHERE lagging ORDER BY lag DESC;
SELECT run_id, started_at, finished_at - started_at AS took, status, runs_seen, overviews_matched,
       not_found, updated, urls_rejected, error
  FROM coursenav.catalog_sync_runs ORDER BY run_id DESC LIMIT 10;

-- The README's queries (What to monitor).
-- Courses whose serving structure lags their last publish, worst first.
SELECT course_id, published_version, built_from_version, lag, last_rebuild_status, last_rebuild_error
  FROM coursenav.course_status WHERE lagging ORDER BY lag DESC;
-- Rebuilds that failed in the last day.
SELECT course_id, rebuild_id, course_version, error FROM coursenav.block_structures
 WHERE status = 'failed' AND completed_at > now() - interval '1 day';
-- The catalog sync: the last runs and how they ended.
SELECT run_id, started_at, status, error FROM coursenav.catalog_sync_runs ORDER BY run_id DESC LIMIT 5;

-- Each object of the README's table, by example (uuids shown only as whether
-- they are there).
-- coursenav.course_status: one row per course.
\x on
SELECT course_id, published_version, block_structure_version IS NOT NULL AS has_version, built_from_version,
       lagging, lag, publishes_not_built, last_rebuild_id, last_rebuild_status, last_rebuild_version,
       last_rebuild_duration, last_rebuild_error
  FROM coursenav.course_status ORDER BY course_id;
\x off
-- coursenav.structure_versions: every block_structure_version a course has had.
SELECT course_id, course_version, rebuild_id, block_count, build_duration, serving,
       previous_version IS NULL AS first_version
  FROM coursenav.structure_versions ORDER BY course_id, rebuild_id;
-- coursenav.publish_log: every publish, in order.
SELECT publish_id, course_id, course_version, now() - published_at AS ago
  FROM coursenav.publish_log ORDER BY publish_id;
-- coursenav.block_structures: every rebuild.
SELECT rebuild_id, course_id, course_version, status, block_count, completed_at - started_at AS took, error
  FROM coursenav.block_structures ORDER BY rebuild_id;
-- coursenav.block_chunks: one Course Blocks document per add_blocks call, lz4-compressed.
SELECT course_id, rebuild_id, chunk_no, block_count, pg_column_compression(document) IS DISTINCT FROM 'pglz' AS not_pglz
  FROM coursenav.block_chunks ORDER BY course_id, rebuild_id, chunk_no;
-- coursenav.blocks: the same blocks, a row each; fields the navigation does not use are in "fields".
SELECT usage_key, block_type, display_name, children, graded, format, due, visible_to_staff_only, fields
  FROM coursenav.blocks WHERE course_id = 'course-v1:OpenedX+DemoX+DemoCourse' ORDER BY usage_key;
-- coursenav.course_versions: the version stamps, one row per course.
SELECT course_id, published_version, publish_id, block_structure_version IS NOT NULL AS has_version,
       rebuild_id, built_from_version, built_from_publish_id
  FROM coursenav.course_versions ORDER BY course_id;
-- coursenav.version_history: one row per bump.
SELECT course_id, course_version, rebuild_id, previous_version IS NULL AS first_version
  FROM coursenav.version_history ORDER BY course_id, bump_id;
-- coursenav.navigation_trees: the tree of each course's serving version.
SELECT course_id, rebuild_id, tree ->> 'course_version' AS course_version,
       tree ->> 'block_structure_version' = block_structure_version::text AS stamped
  FROM coursenav.navigation_trees ORDER BY course_id;
-- coursenav.course_overviews: course-owned fields from publishes, catalog-owned from the sync.
SELECT course_id, display_name, org, number, run, start, self_paced, marketing_url,
       eligible_for_financial_aid, catalog_synced_at
  FROM coursenav.course_overviews ORDER BY course_id;
-- coursenav.catalog_sync_schedule: the sync's pg_cron job and its last runs; no rows without pg_cron.
SELECT count(*) AS jobs FROM coursenav.catalog_sync_schedule;
-- coursenav.catalog_credentials: the owner's alone; monitoring roles read the rest.
SELECT c.relname, has_table_privilege('pg_monitor', c.oid, 'SELECT') AS pg_monitor_reads
  FROM pg_class c
 WHERE c.relnamespace = 'coursenav'::regnamespace AND c.relkind IN ('r', 'v')
 ORDER BY c.relname;
ROLLBACK;
