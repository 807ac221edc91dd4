-- coursenav tables. course_id leads every key, so the schema can be sharded
-- by course (Citus-style) without changing a query.

-- Keys, names and documents are UTF-8 from end to end (Open edX's are), and
-- the Rust code reads and writes text as UTF-8: in a database of another
-- encoding a non-ASCII name would be refused or a key garbled, so such a
-- database is refused up front, with the reason.
DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'coursenav needs a UTF8 database; database "%" is %',
            pg_catalog.current_database(), pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8'' (from template0), as Open edX''s are.';
    END IF;
END $$;

-- What the API calls and no role may: the completion trigger, the helpers
-- of the lifecycle and of the catalog sync, the settings SQL reads. A schema
-- of its own, so `\df coursenav.*` is the API and nothing else; no role but
-- the owner has USAGE on it (sql/grants.sql).
CREATE SCHEMA coursenav_internal;
COMMENT ON SCHEMA coursenav_internal IS
    'coursenav internals: called by the coursenav API functions, never by roles.';

-- Every publish of a course, in the order it happened. The id orders
-- publishes: course versions are opaque strings and never compared as text.
CREATE TABLE coursenav.publish_log (
    course_id      text        NOT NULL,
    publish_id     bigint      GENERATED ALWAYS AS IDENTITY,
    course_version text        NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (course_id, publish_id),
    UNIQUE (course_id, course_version)
);
COMMENT ON TABLE coursenav.publish_log IS
    'One row per publish of a course; publish_id gives the order of publishes.';

-- One row per rebuild of a course's block structure.
CREATE TABLE coursenav.block_structures (
    course_id      text        NOT NULL,
    rebuild_id     bigint      GENERATED ALWAYS AS IDENTITY,
    course_version text        NOT NULL,
    publish_id     bigint      NOT NULL,
    status         text        NOT NULL DEFAULT 'building'
                   CHECK (status IN ('building', 'complete', 'failed', 'superseded')),
    root_key       text,
    block_count    integer     NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at   timestamptz,
    error          text,
    PRIMARY KEY (course_id, rebuild_id),
    FOREIGN KEY (course_id, publish_id) REFERENCES coursenav.publish_log (course_id, publish_id)
        ON DELETE CASCADE
);
-- The SQL API names a rebuild by its id alone.
CREATE INDEX block_structures_rebuild_id ON coursenav.block_structures (rebuild_id);
COMMENT ON TABLE coursenav.block_structures IS
    'One row per rebuild: building, then complete, failed, or superseded (a late rebuild of an older publish).';

-- The blocks of each structure, as they were given: one row per add_blocks
-- call, holding its Course Blocks document as the jsonb it arrived as (Open
-- edX likewise keeps a structure as one serialized blob per version).
-- add_blocks checked every block in it before storing it, and the
-- completion reads it back through the same checks. Storing the document
-- whole is what keeps a rebuild cheap: one row of a few compressed pages per
-- chunk, where a row per block cost a 100,000-block course a second of
-- inserts and index entries. The coursenav.blocks view shows a row per block.
CREATE TABLE coursenav.block_chunks (
    course_id   text        NOT NULL,
    rebuild_id  bigint      NOT NULL,
    chunk_no    integer     NOT NULL,
    block_count integer     NOT NULL,
    document    jsonb       NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- No foreign key to block_structures: add_blocks locks and checks the
    -- rebuild itself, and delete_course and pruning remove chunks first.
    PRIMARY KEY (course_id, rebuild_id, chunk_no)
);
-- lz4 compresses a large course several times faster than the default pglz.
ALTER TABLE coursenav.block_chunks ALTER COLUMN document SET COMPRESSION lz4;
COMMENT ON TABLE coursenav.block_chunks IS
    'The blocks of each rebuild: one Course Blocks document per add_blocks call, as given and checked.';

-- The version stamps: one row per course.
CREATE TABLE coursenav.course_versions (
    course_id               text PRIMARY KEY,
    published_version       text,
    publish_id              bigint,
    published_at            timestamptz,
    block_structure_version uuid,
    rebuild_id              bigint,
    built_from_version      text,
    built_from_publish_id   bigint,
    bumped_at               timestamptz
);
COMMENT ON TABLE coursenav.course_versions IS
    'Per course: the last publish and the block structure version now serving. Only a completed rebuild moves block_structure_version.';

-- Every bump of a block structure version.
CREATE TABLE coursenav.version_history (
    course_id               text        NOT NULL,
    bump_id                 bigint      GENERATED ALWAYS AS IDENTITY,
    block_structure_version uuid        NOT NULL,
    previous_version        uuid,
    rebuild_id              bigint      NOT NULL,
    course_version          text        NOT NULL,
    bumped_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (course_id, bump_id)
);
COMMENT ON TABLE coursenav.version_history IS 'One row per block_structure_version bump.';

-- The materialised navigation tree of the version now serving.
--
-- Stored as json, not jsonb, on purpose: navigation_tree returns these bytes
-- as they are, while jsonb would be converted back to text on every read
-- (2.8 ms against 0.74 ms a call for a 3,539-block course).
CREATE TABLE coursenav.navigation_trees (
    course_id               text PRIMARY KEY,
    block_structure_version uuid NOT NULL,
    rebuild_id              bigint NOT NULL,
    tree                    json NOT NULL
);
-- Out of line but uncompressed: a read copies the bytes without inflating them.
ALTER TABLE coursenav.navigation_trees ALTER COLUMN tree SET STORAGE EXTERNAL;
COMMENT ON TABLE coursenav.navigation_trees IS
    'The sidebar document of each course''s current block structure version, built when its rebuild completed.';

-- One overview per course, as Open edX's course_overviews. A publish writes
-- the course-owned columns; the catalog sync alone writes marketing_url,
-- eligible_for_financial_aid, content_language and catalog_synced_at. A
-- publish updates the row in place and never deletes it, so what the
-- catalog synced survives every publish.
CREATE TABLE coursenav.course_overviews (
    course_id                  text        PRIMARY KEY,
    display_name               text,
    org                        text        NOT NULL,
    number                     text        NOT NULL,
    run                        text        NOT NULL,
    start                      timestamptz,
    "end"                      timestamptz,
    enrollment_start           timestamptz,
    enrollment_end             timestamptz,
    self_paced                 boolean     NOT NULL DEFAULT false,
    language                   text,
    course_image_url           text,
    short_description          text,
    effort                     text,
    invitation_only            boolean     NOT NULL DEFAULT false,
    visible_to_staff_only      boolean     NOT NULL DEFAULT false,
    social_sharing_url         text,
    -- Owned by the catalog sync.
    marketing_url              text,
    eligible_for_financial_aid boolean     NOT NULL DEFAULT true,
    content_language           text,
    catalog_synced_at          timestamptz,
    created                    timestamptz NOT NULL DEFAULT clock_timestamp(),
    modified                   timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE coursenav.course_overviews IS
    'One row per course. Publishes write the course-owned columns; only the catalog sync writes marketing_url, eligible_for_financial_aid, content_language and catalog_synced_at.';

-- Every table above holds data no one can make again, so pg_dump dumps its
-- rows (tables an extension creates are otherwise left out of a dump), and
-- the identity sequences with them, so publish ids and rebuild ids go on
-- after a restore instead of colliding.
-- (one statement per table: each call rewrites the extension's catalog row.)
SELECT pg_catalog.pg_extension_config_dump('coursenav.publish_log', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.block_structures', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.block_chunks', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.course_versions', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.version_history', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.navigation_trees', '');
SELECT pg_catalog.pg_extension_config_dump('coursenav.course_overviews', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('coursenav.publish_log', 'publish_id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('coursenav.block_structures', 'rebuild_id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('coursenav.version_history', 'bump_id')::regclass, '');
