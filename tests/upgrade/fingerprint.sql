-- Everything the coursenav extension is made of in this database, one line
-- per fact, with no OIDs: two databases whose fingerprints are equal have
-- the same tables, columns, defaults, constraints, indexes, views,
-- triggers, functions (bodies, settings, security), privileges, comments
-- and dumped tables. Used to prove that an upgraded install equals a fresh
-- one (tests/blackbox/upgrade.rs).
WITH ext AS (
    SELECT oid, extconfig FROM pg_catalog.pg_extension WHERE extname = 'coursenav'
), members AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.* FROM pg_catalog.pg_class c JOIN members m ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = c.oid
), procs AS (
    SELECT p.* FROM pg_catalog.pg_proc p JOIN members m ON m.classid = 'pg_catalog.pg_proc'::regclass AND m.objid = p.oid
), facts(fact) AS (
    SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '-')
           || ' options ' || coalesce(c.reloptions::text, '-') || ' comment ' || coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '-')
      FROM rels c
    UNION ALL
    SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || ' default ' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '-')
           || ' identity ' || a.attidentity::text || ' generated ' || a.attgenerated::text
           || ' storage ' || a.attstorage::text || ' compression ' || a.attcompression::text
           || ' position ' || a.attnum
      FROM rels c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'constraint ' || c.oid::regclass || ' ' || k.conname || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
      FROM rels c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
    UNION ALL
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM rels c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
    UNION ALL
    SELECT 'view ' || c.oid::regclass || ' ' || pg_catalog.pg_get_viewdef(c.oid)
      FROM rels c WHERE c.relkind = 'v'
    UNION ALL
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid)
      FROM rels c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'sequence ' || s.seqrelid::regclass || ' ' || s.seqtypid::regtype || ' ' || s.seqincrement || ' ' || s.seqmin || ' ' || s.seqmax
      FROM rels c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
    UNION ALL
    SELECT 'function ' || pg_catalog.pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, '-')
           || ' comment ' || coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '-')
      FROM procs p WHERE p.prokind IN ('f', 'p')
    UNION ALL
    SELECT 'dumped ' || t::regclass || ' where ' || coalesce(w, '-')
      FROM ext, unnest(ext.extconfig, (SELECT extcondition FROM pg_catalog.pg_extension WHERE extname = 'coursenav')) AS x(t, w)
    UNION ALL
    SELECT 'schema ' || n.nspname || ' acl ' || coalesce(n.nspacl::text, '-')
      FROM pg_catalog.pg_namespace n WHERE n.nspname = 'coursenav'
    UNION ALL
    SELECT 'role ' || r.rolname || ' login ' || r.rolcanlogin
      FROM pg_catalog.pg_roles r WHERE r.rolname LIKE 'coursenav\_%'
)
SELECT fact FROM facts WHERE fact IS NOT NULL ORDER BY 1;
