#!/usr/bin/env bash
# The main job, end to end on a throwaway local cluster: install what is
# missing, build and install coursenav, load a generated course, publish and
# rebuild it, print its navigation tree and the version tables, then publish
# a change and rebuild again so the version bump is visible.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
hold_install_lock "$@"
bash "$ROOT/.ci/setup.sh"
cd "$ROOT"

install_extension --release
build_tools

DEMO_DIR=/tmp/coursenav-demo
DEMO_PORT=54329
trap 'pg_cluster stop "$DEMO_DIR"' EXIT
pg_cluster start "$DEMO_DIR" "$DEMO_PORT"    # stops and removes a cluster left by an interrupted run

psql_demo() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$DEMO_PORT" -U postgres -d postgres "$@"
}

psql_demo -c "CREATE EXTENSION coursenav" -f "$ROOT/tests/bench/generate_course.sql"
psql_demo -v course="course-v1:DemoOrg+NAV101+2026" -f - <<'SQL'
\pset footer off
\echo
\echo '== 1. Publish version v1 of a generated 1,500-block course and rebuild it'
SELECT coursenav.publish_course(:'course', 'v1') AS publish_id;
SELECT coursenav.rebuild(:'course', 'v1', coursenav_bench.course_blocks(:'course', 1500, 1))
       AS block_structure_version;

\echo
\echo '== 2. Its navigation tree: course, chapters, sequentials (verticals counted)'
WITH RECURSIVE tree AS (SELECT coursenav.navigation_tree(:'course') AS doc),
walk AS (
    SELECT doc->>'root' AS id, 0 AS depth, ARRAY[0] AS path FROM tree
    UNION ALL
    SELECT child.id, walk.depth + 1, walk.path || child.n::int
      FROM walk, tree,
           LATERAL json_array_elements_text(doc->'blocks'->walk.id->'children') WITH ORDINALITY AS child(id, n)
     WHERE walk.depth < 2
)
SELECT repeat('    ', depth) || (b->>'type') || ': ' || (b->>'display_name')
       || CASE WHEN b->>'graded' = 'true' THEN '  [graded: ' || (b->>'format') || ']' ELSE '' END
       || CASE WHEN b->>'visible_to_staff_only' = 'true' THEN '  [staff only]' ELSE '' END
       || CASE WHEN depth = 2 THEN '  (' || json_array_length(b->'children') || ' units)' ELSE '' END
       AS navigation
  FROM walk, tree, LATERAL (SELECT doc->'blocks'->walk.id AS b) blk
 ORDER BY path;
SELECT json_object_keys_count AS blocks_in_tree, pg_size_pretty(octet_length(t::text)::bigint) AS tree_size,
       t->>'block_structure_version' AS block_structure_version
  FROM (SELECT coursenav.navigation_tree(:'course') AS t) s,
       LATERAL (SELECT count(*) AS json_object_keys_count FROM json_object_keys(t->'blocks')) k;

\echo
\echo '== 3. Version table after the first rebuild'
SELECT course_id, published_version, built_from_version, block_structure_version, lagging
  FROM coursenav.course_status;

\echo
\echo '== 4. Publish v2 (a course with more content): the old tree keeps serving until the rebuild'
SELECT coursenav.publish_course(:'course', 'v2') AS publish_id;
SELECT course_id, published_version, built_from_version, lagging, publishes_not_built
  FROM coursenav.course_status;
SELECT coursenav.navigation_tree(:'course')->>'course_version' AS serving_course_version;

\echo
\echo '== 5. Rebuild v2: the trigger bumps block_structure_version in the same transaction'
SELECT coursenav.rebuild(:'course', 'v2', coursenav_bench.course_blocks(:'course', 1800, 2))
       AS block_structure_version;
SELECT course_id, published_version, built_from_version, block_structure_version, lagging,
       last_rebuild_status, last_rebuild_duration
  FROM coursenav.course_status;

\echo
\echo '== 6. Every version the course has had'
SELECT course_version, block_structure_version, previous_version, block_count, build_duration, serving
  FROM coursenav.structure_versions ORDER BY bumped_at;
SQL
echo
echo "coursenav demo finished; the throwaway cluster is stopped and removed."
