//! Upgrades, proved: every release whose install script is kept in `sql/`
//! is installed with data in it, upgraded with `ALTER EXTENSION coursenav
//! UPDATE`, and must then equal a fresh install of the current version,
//! object for object (`tests/upgrade/fingerprint.sql`), with its data all
//! there and served. The current version's own kept script must equal what
//! the build generates, so a schema change that did not bump the version
//! (and ship its upgrade script) fails here.

use crate::cluster::{Cluster, PG_BIN};
use coursenav_domain::testing::small_course as course;
use postgres::Client;
use std::path::{Path, PathBuf};
use std::process::Command;

const FINGERPRINT: &str = include_str!("../upgrade/fingerprint.sql");
const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";
const CURRENT: &str = env!("CARGO_PKG_VERSION");

fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sql")
}

/// Versions whose install script is kept as `sql/coursenav--X.sql`.
fn releases() -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(sql_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_prefix("coursenav--")?.strip_suffix(".sql").map(str::to_string))
        .filter(|version| !version.contains("--"))
        .collect();
    versions.sort();
    versions
}

fn extension_dir() -> PathBuf {
    let out = Command::new(format!("{PG_BIN}/pg_config")).arg("--sharedir").output().expect("pg_config");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("extension")
}

fn fingerprint(client: &mut Client) -> Vec<String> {
    client.query(FINGERPRINT, &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

/// Lines only one side has, for a readable failure.
fn difference((left, a): (&str, &[String]), (right, b): (&str, &[String])) -> String {
    let only = |x: &[String], y: &[String]| x.iter().filter(|l| !y.contains(l)).cloned().collect::<Vec<_>>().join("\n");
    format!("only {left}:\n{}\n\nonly {right}:\n{}", only(a, b), only(b, a))
}

fn rebuild(client: &mut Client, version: &str, chapters: usize) -> String {
    let blocks = course(COURSE, chapters, version).to_string();
    client
        .query_one("SELECT coursenav.rebuild($1, $2, $3::text::jsonb)::text", &[&COURSE, &version, &blocks])
        .unwrap()
        .get(0)
}

fn served(client: &mut Client) -> String {
    client.query_one("SELECT coursenav.navigation_tree($1)::text", &[&COURSE]).unwrap().get(0)
}

#[test]
fn every_kept_release_upgrades_to_the_current_version_with_its_data_served_and_equals_a_fresh_install() {
    let older: Vec<String> = releases().into_iter().filter(|v| v != CURRENT).collect();
    assert!(!older.is_empty(), "no earlier release is kept in sql/: nothing to upgrade from");
    let cluster = Cluster::start("upgrade", &[]);
    let fresh = fingerprint(&mut cluster.connect());
    for release in older {
        let database = format!("from_{}", release.replace('.', "_"));
        cluster.execute(&format!("CREATE DATABASE {database}"));
        let mut client = cluster.connect_as("postgres", &database);
        client.batch_execute(&format!("CREATE EXTENSION coursenav VERSION '{release}'")).unwrap();
        client
            .execute("SELECT coursenav.publish_course($1, 'v1', '{\"display_name\": \"Demo\"}')", &[&COURSE])
            .unwrap();
        rebuild(&mut client, "v1", 2);
        let serving = rebuild(&mut client, "v2", 3);
        let tree = served(&mut client);

        client.batch_execute("ALTER EXTENSION coursenav UPDATE").unwrap();
        let version: String =
            client.query_one("SELECT extversion FROM pg_extension WHERE extname = 'coursenav'", &[]).unwrap().get(0);
        assert_eq!(version, CURRENT, "from {release}");
        let upgraded = fingerprint(&mut client);
        assert!(
            upgraded == fresh,
            "{release} upgraded differs from a fresh {CURRENT}:\n{}",
            difference(("after the upgrade", &upgraded), ("in a fresh install", &fresh))
        );

        // The data is all there and served, and the course moves on.
        assert_eq!(served(&mut client), tree, "from {release}");
        let current: String =
            client.query_one("SELECT coursenav.block_structure_version($1)::text", &[&COURSE]).unwrap().get(0);
        assert_eq!(current, serving);
        let next = rebuild(&mut client, "v3", 4);
        assert_ne!(next, serving);
        let bumps: i64 = client
            .query_one("SELECT count(*) FROM coursenav.version_history WHERE course_id = $1", &[&COURSE])
            .unwrap()
            .get(0);
        assert_eq!(bumps, 3);
    }
}

/// Removes a file when dropped, so a failing test leaves nothing behind.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn the_current_version_is_kept_and_its_kept_script_is_what_the_build_installs() {
    let kept = sql_dir().join(format!("coursenav--{CURRENT}.sql"));
    assert!(
        kept.exists(),
        "version {CURRENT} has no kept install script: after a schema change bump the version, write \
         sql/coursenav--OLD--{CURRENT}.sql, and keep the generated script as {}",
        kept.display()
    );
    // Installed under a version name of its own, beside the generated one.
    let alias = format!("{CURRENT}-kept");
    let installed = extension_dir().join(format!("coursenav--{alias}.sql"));
    std::fs::copy(&kept, &installed).unwrap();
    let _cleanup = Removed(installed);

    let cluster = Cluster::start("kept-script", &[]);
    let generated = fingerprint(&mut cluster.connect());
    cluster.execute("CREATE DATABASE from_kept");
    let mut client = cluster.connect_as("postgres", "from_kept");
    client.batch_execute(&format!("CREATE EXTENSION coursenav VERSION '{alias}'")).unwrap();
    let from_kept = fingerprint(&mut client);
    assert!(
        from_kept == generated,
        "the schema changed since {CURRENT} was kept: bump the version and ship an upgrade script\n{}",
        difference(("in the build's script", &generated), ("in the kept script", &from_kept))
    );
}
