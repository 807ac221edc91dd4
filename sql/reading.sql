-- The read path and what DBAs read. Nothing here builds, validates or writes:
-- it only reads what the completion trigger materialised, so it runs as
-- well on a read replica as on the primary.
--
-- The read functions are SECURITY DEFINER with a pinned search_path: a
-- reader role (coursenav_reader) needs EXECUTE on them and SELECT on the
-- overviews, and no privilege on the tables behind them.

-- The navigation sidebar of the course's current block structure version,
-- or NULL for a course that was never rebuilt. A malformed key is an error,
-- checked only on a miss so a hit costs one primary-key lookup.
CREATE FUNCTION coursenav.navigation_tree(course_id text)
RETURNS json LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result_tree json;
BEGIN
    SELECT t.tree INTO result_tree FROM coursenav.navigation_trees t
     WHERE t.course_id = navigation_tree.course_id;
    IF result_tree IS NULL THEN
        PERFORM coursenav.assert_course_key(course_id);
    END IF;
    RETURN result_tree;
END $$;

-- The block_structure_version now serving, or NULL if never rebuilt.
CREATE FUNCTION coursenav.block_structure_version(course_id text)
RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result_version uuid;
BEGIN
    SELECT v.block_structure_version INTO result_version FROM coursenav.course_versions v
     WHERE v.course_id = block_structure_version.course_id;
    IF result_version IS NULL THEN
        PERFORM coursenav.assert_course_key(course_id);
    END IF;
    RETURN result_version;
END $$;

-- One row per course: what was published, what is serving, and how far the
-- serving structure lags behind the last publish.
CREATE VIEW coursenav.course_status AS
SELECT v.course_id,
       v.published_version,
       v.published_at,
       v.block_structure_version,
       v.built_from_version,
       v.bumped_at,
       v.publish_id > coalesce(v.built_from_publish_id, 0) AS lagging,
       CASE WHEN v.publish_id > coalesce(v.built_from_publish_id, 0)
            THEN now() - unbuilt.first_published_at
            ELSE interval '0' END AS lag,
       unbuilt.publishes AS publishes_not_built,
       last.rebuild_id AS last_rebuild_id,
       last.status AS last_rebuild_status,
       last.course_version AS last_rebuild_version,
       last.started_at AS last_rebuild_started_at,
       last.completed_at - last.started_at AS last_rebuild_duration,
       last.error AS last_rebuild_error
  FROM coursenav.course_versions v
  LEFT JOIN LATERAL (
        SELECT min(p.published_at) AS first_published_at, count(*) AS publishes
          FROM coursenav.publish_log p
         WHERE p.course_id = v.course_id
           AND p.publish_id > coalesce(v.built_from_publish_id, 0)) unbuilt ON true
  LEFT JOIN LATERAL (
        SELECT s.* FROM coursenav.block_structures s
         WHERE s.course_id = v.course_id
         ORDER BY s.rebuild_id DESC LIMIT 1) last ON true;
COMMENT ON VIEW coursenav.course_status IS
    'Per course: published version, serving block_structure_version, whether and how long it lags, and the last rebuild.';

-- Every block_structure_version a course has had, newest first per course.
CREATE VIEW coursenav.structure_versions AS
SELECT h.course_id,
       h.block_structure_version,
       h.previous_version,
       h.course_version,
       h.rebuild_id,
       s.block_count,
       s.completed_at - s.started_at AS build_duration,
       h.bumped_at,
       v.block_structure_version = h.block_structure_version AS serving
  FROM coursenav.version_history h
  JOIN coursenav.block_structures s ON s.course_id = h.course_id AND s.rebuild_id = h.rebuild_id
  JOIN coursenav.course_versions v ON v.course_id = h.course_id;
COMMENT ON VIEW coursenav.structure_versions IS
    'Every block_structure_version bump, with the rebuild behind it and whether it is serving now.';

-- Every block of every stored structure, a row each, read out of the chunks
-- add_blocks stored: navigation fields as columns, everything else the block
-- carried in "fields". For DBAs; the rebuild path never reads this view.
CREATE VIEW coursenav.blocks AS
SELECT c.course_id,
       c.rebuild_id,
       b.key AS usage_key,
       b.value ->> 'type' AS block_type,
       b.value ->> 'display_name' AS display_name,
       CASE WHEN jsonb_typeof(b.value -> 'children') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(b.value -> 'children'))
            ELSE '{}' END AS children,
       coalesce((b.value ->> 'graded')::boolean, false) AS graded,
       b.value ->> 'format' AS format,
       (b.value ->> 'start')::timestamptz AS start,
       (b.value ->> 'due')::timestamptz AS due,
       coalesce((b.value ->> 'visible_to_staff_only')::boolean, false) AS visible_to_staff_only,
       coalesce((b.value ->> 'hide_from_toc')::boolean, false) AS hide_from_toc,
       nullif(b.value - ARRAY['id', 'type', 'display_name', 'children', 'graded', 'format', 'start', 'due',
                              'visible_to_staff_only', 'hide_from_toc'], '{}') AS fields
  FROM coursenav.block_chunks c,
       jsonb_each(c.document -> 'blocks') AS b;
COMMENT ON VIEW coursenav.blocks IS
    'Every block of every stored structure, one row each, children in authored order.';
