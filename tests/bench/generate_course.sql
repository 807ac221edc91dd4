-- coursenav_bench.course_blocks(course_id, n_blocks, seed): a synthetic course
-- in the Open edX Course Blocks shape,
--   {"root": id, "blocks": {id: {"id", "type", "display_name", "children",
--                                "graded", "format", "start", "due",
--                                "visible_to_staff_only"}}}
-- with exactly n_blocks blocks, for benchmarks and demos.
--
-- Deterministic: the same arguments always give the same document. Every
-- "random" choice is read from md5(seed, level, position), so there is no
-- random() and no dependence on settings such as TimeZone.
--
-- Proportions follow real Open edX courses (MITx 6.002x has 3,539 blocks):
--   chapters (sections)       0.4 %   at least 2
--   sequentials (subsections) 2.5 %   at least 2; about 30 % graded, with a due date
--   verticals (units)        13   %   at least 2; about 1 % staff-only
--   components                the rest: html, problem (some with a due date), video
-- The last chapter starts in 2099, so navigation has a future-start section.
-- Each level is spread evenly over the level above, in authored order.
--
-- Self-contained on purpose: the demo script loads this one file.

CREATE SCHEMA IF NOT EXISTS coursenav_bench;

CREATE OR REPLACE FUNCTION coursenav_bench.course_blocks(course_id text, n_blocks int, seed int DEFAULT 1)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE
-- Enough memory to sort a 100,000-block course without spilling to disk.
SET work_mem = '64MB'
AS $$
DECLARE
    n_chapters    int := greatest(2, round(n_blocks * 0.004))::int;
    n_sequentials int := greatest(2, round(n_blocks * 0.025))::int;
    n_verticals   int := greatest(2, round(n_blocks * 0.13))::int;
    n_components  int := n_blocks - 1 - n_chapters - n_sequentials - n_verticals;
    -- Block keys are those of the course: course-v1:ORG+COURSE+RUN -> block-v1:ORG+COURSE+RUN.
    key_prefix    text := 'block-v1:' || substr(course_id, length('course-v1:') + 1);
    root_key      text := key_prefix || '+type@course+block@course';
    document      jsonb;
BEGIN
    IF course_id NOT LIKE 'course-v1:%+%+%' THEN
        RAISE EXCEPTION 'course_blocks: "%" is not a course-v1:ORG+COURSE+RUN key', course_id;
    END IF;
    IF n_components < n_verticals THEN
        RAISE EXCEPTION 'course_blocks: % blocks are too few for a course with % units (at least % needed)',
            n_blocks, n_verticals, 1 + n_chapters + n_sequentials + 2 * n_verticals;
    END IF;

    WITH
    -- One row per block: its level (0 = the course, 1 = chapter ... 4 =
    -- component), its position i within the level, and its parent's
    -- position within the level above. Children are spread evenly: child i
    -- of n goes to parent floor(i * parents / n).
    positions AS (
        SELECT level, i, (i::bigint * parents / n)::int AS parent_i,
               -- A stable pseudo-random hex string per block: names it and rolls its dice.
               md5(seed || ':' || level || ':' || i) AS hash
          FROM (VALUES (0, 1, 1),
                       (1, n_chapters, 1),
                       (2, n_sequentials, n_chapters),
                       (3, n_verticals, n_sequentials),
                       (4, n_components, n_verticals)) AS l(level, n, parents),
               generate_series(0, n - 1) AS i
    ),
    -- roll: 0..99 from the block's hash, for its proportions.
    rolled AS (
        SELECT p.*, ('x' || left(hash, 7))::bit(28)::int % 100 AS roll FROM positions p
    ),
    typed AS (
        SELECT r.*,
               CASE level WHEN 0 THEN 'course' WHEN 1 THEN 'chapter' WHEN 2 THEN 'sequential' WHEN 3 THEN 'vertical'
                    ELSE CASE WHEN roll < 45 THEN 'html' WHEN roll < 80 THEN 'problem' ELSE 'video' END
               END AS block_type
          FROM rolled r
    ),
    keyed AS (
        SELECT t.*,
               CASE WHEN level = 0 THEN root_key
                    ELSE key_prefix || '+type@' || block_type || '+block@' || hash END AS key
          FROM typed t
    ),
    -- Each block's children in authored (position) order.
    child_lists AS (
        SELECT level - 1 AS parent_level, parent_i, jsonb_agg(key ORDER BY i) AS children
          FROM keyed WHERE level > 0 GROUP BY level, parent_i
    ),
    -- Dates are whole days after the course start, written as UTC RFC 3339
    -- text, so no TimeZone setting can change the document.
    described AS (
        SELECT k.key, k.block_type,
               CASE level WHEN 0 THEN 'Benchmark course ' || course_id
                          WHEN 1 THEN 'Section ' || (k.i + 1)
                          WHEN 2 THEN 'Subsection ' || (k.i + 1)
                          WHEN 3 THEN 'Unit ' || (k.i + 1)
                          ELSE initcap(block_type) || ' ' || (k.i + 1) END AS display_name,
               coalesce(c.children, '[]') AS children,
               level = 2 AND roll < 30 AS graded,
               CASE WHEN level = 2 AND roll < 30 THEN (ARRAY['Homework', 'Lab', 'Exam'])[roll % 3 + 1] END AS format,
               CASE WHEN level = 0 THEN '2025-01-06'
                    WHEN level = 1 AND k.i = n_chapters - 1 THEN '2099-01-01'
                    WHEN level = 1 THEN to_char(date '2025-01-06' + 7 * k.i, 'YYYY-MM-DD') END AS start_day,
               CASE WHEN (level = 2 AND roll < 30) OR (block_type = 'problem' AND roll < 50)
                    THEN to_char(date '2025-01-20' + k.i % 120, 'YYYY-MM-DD') END AS due_day,
               level = 3 AND roll = 0 AS visible_to_staff_only
          FROM keyed k
          LEFT JOIN child_lists c ON c.parent_level = k.level AND c.parent_i = k.i
    )
    SELECT jsonb_build_object(
               'root', root_key,
               'blocks', jsonb_object_agg(key, jsonb_build_object(
                   'id', key,
                   'type', block_type,
                   'display_name', display_name,
                   'children', children,
                   'graded', graded,
                   'format', format,
                   'start', start_day || 'T00:00:00Z',
                   'due', due_day || 'T23:59:00Z',
                   'visible_to_staff_only', visible_to_staff_only)))
      INTO document
      FROM described;
    RETURN document;
END $$;

COMMENT ON FUNCTION coursenav_bench.course_blocks(text, int, int) IS
    'A deterministic synthetic course of exactly n_blocks blocks in the Course Blocks shape, with Open edX proportions.';
