-- The peers coursenav.navigation_tree is compared with, loaded from the same
-- generated courses (tests/bench/generate_course.sql must be loaded first).
--
--   (a) stored_json:  the very tree coursenav materialised, copied as ready
--                     json text into a plain table and selected by primary
--                     key. The floor: nothing can read a tree faster.
--   (b) sql_function: what a DBA would write without coursenav: one SQL
--                     function aggregating the course, chapter, sequential
--                     and vertical rows of a plain blocks table.
--   (c) plpgsql:      a recursive PL/pgSQL function building the nested tree
--                     block by block, inheriting start and staff-only.
--
-- (b) does less than coursenav (no inherited start or staff-only, no
-- has_scheduled_content), so the comparison is, if anything, kind to it.

CREATE SCHEMA IF NOT EXISTS coursenav_bench;

-- (a) Same storage as coursenav.navigation_trees (out of line, uncompressed),
-- so the comparison measures the read path, not decompression.
CREATE TABLE coursenav_bench.stored_trees (
    course_id text PRIMARY KEY,
    tree      json NOT NULL
);
ALTER TABLE coursenav_bench.stored_trees ALTER COLUMN tree SET STORAGE EXTERNAL;

-- (b) and (c) read a plain table of blocks, one row per block, as a DBA
-- would load it from the Course Blocks document.
CREATE TABLE coursenav_bench.blocks (
    course_id             text NOT NULL,
    usage_key             text NOT NULL,
    block_type            text NOT NULL,
    display_name          text,
    children              text[] NOT NULL DEFAULT '{}',
    graded                boolean NOT NULL DEFAULT false,
    format                text,
    start                 timestamptz,
    due                   timestamptz,
    visible_to_staff_only boolean NOT NULL DEFAULT false,
    PRIMARY KEY (course_id, usage_key)
);
-- Lets (b) read only the navigation rows of one course, not its components.
CREATE INDEX blocks_course_type ON coursenav_bench.blocks (course_id, block_type);

-- Loads one course into the peers: its blocks from the Course Blocks
-- document, and the tree coursenav serves for it now.
CREATE FUNCTION coursenav_bench.load_peers(course_id text, document jsonb)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM coursenav_bench.blocks b WHERE b.course_id = load_peers.course_id;
    INSERT INTO coursenav_bench.blocks
    SELECT load_peers.course_id, e.key, e.value->>'type', e.value->>'display_name',
           ARRAY(SELECT jsonb_array_elements_text(e.value->'children')),
           coalesce((e.value->>'graded')::boolean, false), e.value->>'format',
           (e.value->>'start')::timestamptz, (e.value->>'due')::timestamptz,
           coalesce((e.value->>'visible_to_staff_only')::boolean, false)
      FROM jsonb_each(document->'blocks') e;
    INSERT INTO coursenav_bench.stored_trees AS s (course_id, tree)
    SELECT t.course_id, t.tree FROM coursenav.navigation_trees t
     WHERE t.course_id = load_peers.course_id
    ON CONFLICT (course_id) DO UPDATE SET tree = excluded.tree;
$$;

-- (b) The flat sidebar map in one statement. Verticals list no children:
-- the sidebar stops at units, as coursenav's does.
CREATE FUNCTION coursenav_bench.navigation_sql(course_id text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'course_id', navigation_sql.course_id,
               'root', min(b.usage_key) FILTER (WHERE b.block_type = 'course'),
               'blocks', jsonb_object_agg(b.usage_key, jsonb_build_object(
                   'id', b.usage_key,
                   'type', b.block_type,
                   'display_name', b.display_name,
                   'children', CASE WHEN b.block_type = 'vertical' THEN '{}' ELSE b.children END,
                   'graded', b.graded,
                   'format', b.format,
                   'start', b.start,
                   'due', b.due,
                   'visible_to_staff_only', b.visible_to_staff_only)))
      FROM coursenav_bench.blocks b
     WHERE b.course_id = navigation_sql.course_id
       AND b.block_type IN ('course', 'chapter', 'sequential', 'vertical');
$$;

-- (c) One block and, below it, its navigation children, nested. A block's
-- start is the latest on its path and staff-only flows down, as in Open edX.
CREATE FUNCTION coursenav_bench.navigation_node(
    course_id text, usage_key text, inherited_start timestamptz, inherited_staff_only boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    b coursenav_bench.blocks;
    effective_start timestamptz;
    staff_only boolean;
    child text;
    children jsonb := '[]';
BEGIN
    SELECT * INTO b FROM coursenav_bench.blocks x
     WHERE x.course_id = navigation_node.course_id AND x.usage_key = navigation_node.usage_key;
    effective_start := greatest(inherited_start, b.start);  -- greatest ignores NULLs
    staff_only := inherited_staff_only OR b.visible_to_staff_only;
    -- The sidebar stops at units: their children are components.
    IF b.block_type <> 'vertical' THEN
        FOREACH child IN ARRAY b.children LOOP
            children := children || jsonb_build_array(
                coursenav_bench.navigation_node(course_id, child, effective_start, staff_only));
        END LOOP;
    END IF;
    RETURN jsonb_build_object(
        'id', b.usage_key,
        'type', b.block_type,
        'display_name', b.display_name,
        'graded', b.graded,
        'format', b.format,
        'start', effective_start,
        'due', b.due,
        'visible_to_staff_only', staff_only,
        'children', children);
END $$;

CREATE FUNCTION coursenav_bench.navigation_plpgsql(course_id text)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    root_key text;
BEGIN
    SELECT b.usage_key INTO root_key FROM coursenav_bench.blocks b
     WHERE b.course_id = navigation_plpgsql.course_id AND b.block_type = 'course';
    RETURN jsonb_build_object(
        'course_id', course_id,
        'root', coursenav_bench.navigation_node(course_id, root_key, NULL, false));
END $$;

-- Fails unless every peer serves the same navigation blocks as coursenav for
-- the course: the comparison is only fair if they all do the same job.
CREATE FUNCTION coursenav_bench.check_peers(course_id text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    served json := coursenav.navigation_tree(course_id);
    expected bigint := (SELECT count(*) FROM json_object_keys(served->'blocks'));
    stored bigint := (SELECT count(*) FROM coursenav_bench.stored_trees s
                       WHERE s.course_id = check_peers.course_id AND s.tree::text = served::text);
    by_sql bigint := (SELECT count(*) FROM jsonb_object_keys(coursenav_bench.navigation_sql(course_id)->'blocks'));
    by_plpgsql bigint := (
        WITH RECURSIVE nodes(node) AS (
            SELECT coursenav_bench.navigation_plpgsql(check_peers.course_id)->'root'
            UNION ALL
            SELECT child FROM nodes, jsonb_array_elements(nodes.node->'children') AS child)
        SELECT count(*) FROM nodes);
BEGIN
    IF expected = 0 OR stored <> 1 OR by_sql <> expected OR by_plpgsql <> expected THEN
        RAISE EXCEPTION 'peers differ for %: coursenav % blocks, (a) % identical trees, (b) % blocks, (c) % blocks',
            course_id, expected, stored, by_sql, by_plpgsql;
    END IF;
END $$;
