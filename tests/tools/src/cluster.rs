//! Throwaway PostgreSQL 15 clusters, each in a folder of its own on its own
//! port: initdb (as `postgres` when we are root: initdb refuses root), start,
//! stop, crash, and hot standbys made by pg_basebackup. The black-box tests
//! use [`Cluster`] directly, and their clusters go when the value does; the
//! scripts in `.ci` use the same code through the `pg-cluster` binary, whose
//! clusters run until `pg-cluster stop`.
//!
//! `Cluster::start` and its variants create the coursenav extension, which
//! must already be installed into Debian's PostgreSQL (the test command does
//! that before it runs the black-box tests). The methods that connect need the
//! feature `client` (the `postgres` crate); `pg-cluster` does without it, so
//! the benchmark's release build of the tools stays small.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
#[cfg(feature = "client")]
use std::time::{Duration, Instant};

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The tests' clusters never fsync: nothing they write has to outlive the
/// machine, and syncing would only slow them down. `pg-cluster` clusters get
/// only the settings they are given (the benchmark times commits with fsync).
const TEST_SETTINGS: &[&str] = &["fsync = off"];

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let out = Command::new("id").arg("-u").output().expect("id -u");
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    })
}

/// Runs a program as the cluster owner: `postgres` when we are root (initdb
/// refuses root), ourselves otherwise.
fn as_owner(program: &str, args: &[&str]) -> Output {
    let output = if is_root() {
        Command::new("runuser").args(["-u", "postgres", "--", program]).args(args).output()
    } else {
        Command::new(program).args(args).output()
    }
    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    output
}

/// Runs one of PostgreSQL's programs as the cluster owner, and fails with
/// everything it printed unless it succeeds.
fn checked(program: &str, args: &[&str]) {
    let out = as_owner(&format!("{PG_BIN}/{program}"), args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn data_folder(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// The lines appended to a cluster's postgresql.conf: where it listens, then
/// the settings it is given, which come last so they can override those (a
/// setting's last line wins).
fn conf_lines(port: u16, dir: &Path, settings: &[&str]) -> String {
    let mut conf =
        format!("\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n", dir.display());
    for line in settings {
        conf.push_str(line);
        conf.push('\n');
    }
    conf
}

/// The port a running postmaster wrote into its postmaster.pid (the fourth
/// line, after its pid, data folder and start time).
fn port_from_pid_file(text: &str) -> Option<u16> {
    text.lines().nth(3)?.trim().parse().ok()
}

/// Stops the server running in `dir`, if any (immediate shutdown: a
/// throwaway cluster needs no clean one), and removes the folder; a folder
/// that is not there is not an error.
pub fn stop_and_remove(dir: &Path) -> io::Result<()> {
    let data = data_folder(dir);
    if data.is_dir() {
        as_owner(&format!("{PG_BIN}/pg_ctl"), &["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"]);
    }
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        result => result,
    }
}

/// Whether `dir` may be stopped and removed on a caller's say-so: it is
/// absent, empty, or holds a cluster (`dir/data`), as this module leaves it.
/// Keeps `pg-cluster start /home` from removing a home.
pub fn is_cluster_folder(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Err(e) => e.kind() == io::ErrorKind::NotFound,
        Ok(mut entries) => entries.next().is_none() || data_folder(dir).is_dir(),
    }
}

/// A cluster in a folder of its own: `dir` holds the cluster (`data`), its
/// log (`server.log`) and its socket; it listens on 127.0.0.1:`port` too.
pub struct Cluster {
    pub dir: PathBuf,
    data: String,
    pub port: u16,
    /// RLIMIT_AS for the postmaster and so every backend, when set.
    address_space_limit: Option<u64>,
    /// The superuser's password, for a cluster with password authentication.
    password: Option<String>,
    /// Whether dropping this value stops the server and removes its folder:
    /// yes for a test's cluster, no for one `pg-cluster` leaves running.
    owned: bool,
}

/// The black-box tests' clusters: trust authentication (unless stock), the
/// extension created in database `postgres`, removed when dropped.
#[cfg(feature = "client")]
impl Cluster {
    /// A new cluster with coursenav created in database `postgres`.
    pub fn start(name: &str, settings: &[&str]) -> Cluster {
        let cluster = Cluster::init(name, settings);
        cluster.start_server();
        cluster.execute("CREATE EXTENSION coursenav");
        cluster
    }

    /// Like `start`, but every backend runs under an address-space limit
    /// (RLIMIT_AS, inherited from the postmaster): an allocation past it
    /// fails, so a Rust allocation that is not bounded aborts the backend
    /// and restarts the cluster instead of quietly growing. Tests check the
    /// postmaster's start time and the log for "terminated by signal".
    pub fn start_with_memory_limit(name: &str, settings: &[&str], bytes: u64) -> Cluster {
        let mut cluster = Cluster::init(name, settings);
        cluster.address_space_limit = Some(bytes);
        cluster.start_server();
        cluster.execute("CREATE EXTENSION coursenav");
        cluster
    }

    /// Like `start`, but with Debian's stock authentication: peer on the
    /// local socket, scram-sha-256 over TCP (so a client of its own, such
    /// as pg_cron, needs a password it does not have), and `password` for
    /// the superuser.
    pub fn start_with_stock_authentication(name: &str, settings: &[&str], password: &str) -> Cluster {
        let mut cluster = Cluster::new_folder(name);
        let pwfile = cluster.dir.join("pwfile");
        std::fs::write(&pwfile, password).unwrap();
        let pwfile = format!("--pwfile={}", pwfile.display());
        checked(
            "initdb",
            &[
                "-D",
                cluster.data(),
                "-U",
                "postgres",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                &pwfile,
                "--no-sync",
            ],
        );
        cluster.configure(&for_tests(settings));
        cluster.password = Some(password.to_string());
        cluster.start_server();
        cluster.execute("CREATE EXTENSION coursenav");
        cluster
    }

    fn init(name: &str, settings: &[&str]) -> Cluster {
        let cluster = Cluster::new_folder(name);
        cluster.initdb();
        cluster.configure(&for_tests(settings));
        cluster
    }

    /// When the postmaster started, which a crash and restart would change.
    pub fn postmaster_start_time(&self) -> String {
        self.connect().query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0)
    }

    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.connection_string(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.port))
    }

    /// A session of another role (trust authentication: no password), in `database`.
    pub fn connect_as(&self, user: &str, database: &str) -> postgres::Client {
        let connection = format!("host=127.0.0.1 port={} user={user} dbname={database}", self.port);
        postgres::Client::connect(&connection, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {} as {user}: {e}", self.port))
    }

    /// Connects, retrying while the server recovers from a crash.
    pub fn connect_when_ready(&self, within: Duration) -> postgres::Client {
        let deadline = Instant::now() + within;
        loop {
            match postgres::Client::connect(&self.connection_string(), postgres::NoTls) {
                Ok(client) => return client,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => panic!("server did not come back: {e}"),
            }
        }
    }

    pub fn execute(&self, sql: &str) {
        self.connect().batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[cfg(feature = "client")]
fn for_tests<'a>(settings: &[&'a str]) -> Vec<&'a str> {
    TEST_SETTINGS.iter().chain(settings).copied().collect()
}

impl Cluster {
    /// A fresh cluster in `dir` on `port` (127.0.0.1 and a socket in `dir`,
    /// trust authentication, `settings` as postgresql.conf lines),
    /// initialised but not started. A cluster `dir` held before is stopped
    /// and removed first; a folder holding anything else is refused.
    pub fn init_in(dir: &Path, port: u16, settings: &[&str]) -> Cluster {
        assert!(
            is_cluster_folder(dir),
            "{} holds files but no cluster (no data folder): not removing it",
            dir.display()
        );
        let cluster = Cluster::in_folder(dir.to_path_buf(), port);
        cluster.initdb();
        cluster.configure(settings);
        cluster
    }

    /// The cluster running in `dir` (made by `init_in` and started), on the
    /// port its postmaster.pid gives. Not owned: dropping it leaves it running.
    pub fn running_in(dir: &Path) -> Cluster {
        let pid_file = data_folder(dir).join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("no cluster runs in {}: {}: {e}", dir.display(), pid_file.display()));
        let port =
            port_from_pid_file(&text).unwrap_or_else(|| panic!("{}: no port on its fourth line", pid_file.display()));
        Cluster {
            dir: dir.to_path_buf(),
            data: data_folder(dir).to_string_lossy().into_owned(),
            port,
            address_space_limit: None,
            password: None,
            owned: false,
        }
    }

    /// A hot standby of this cluster, which must be running with
    /// `wal_level = replica` (the default), in `dir` on `port`: copied by
    /// pg_basebackup through this cluster's socket, initialised but not
    /// started. As with `init_in`, a cluster `dir` held before goes first.
    pub fn standby_in(&self, dir: &Path, port: u16, settings: &[&str]) -> Cluster {
        assert!(
            is_cluster_folder(dir),
            "{} holds files but no cluster (no data folder): not removing it",
            dir.display()
        );
        assert!(dir != self.dir, "a standby cannot replace its own primary in {}", dir.display());
        self.basebackup(Cluster::in_folder(dir.to_path_buf(), port), settings)
    }

    /// A test's hot standby of this cluster, started.
    pub fn start_standby(&self, name: &str) -> Cluster {
        let standby = self.basebackup(Cluster::new_folder(name), TEST_SETTINGS);
        standby.start_server();
        standby
    }

    /// Leaves the server running and its folder in place when this value
    /// goes: for `pg-cluster`, whose clusters outlive it.
    pub fn leave_running(mut self) {
        self.owned = false;
    }

    /// Stops the server and starts it again under an address-space limit
    /// (or none): for a test that must prepare data no limited backend
    /// could build (an 8-million-pair jsonb takes PostgreSQL's own
    /// aggregation past 1.5 GiB) and then use it under the limit.
    pub fn restart_with_memory_limit(&mut self, bytes: Option<u64>) {
        checked("pg_ctl", &["-D", self.data(), "-m", "fast", "-w", "stop"]);
        self.address_space_limit = bytes;
        self.start_server();
    }

    /// Whether any backend died of a signal (a Rust abort, a segfault) so far.
    pub fn backend_crashed(&self) -> bool {
        let log = self.server_log();
        log.contains("terminated by signal") || log.contains("was terminated by exception")
    }

    /// A test's folder, named after the test and this process, and a free port.
    fn new_folder(name: &str) -> Cluster {
        Cluster::in_folder(PathBuf::from(format!("/tmp/cnbb-{name}-{}", std::process::id())), free_port())
    }

    /// An empty folder the cluster owner can write; whatever a run before
    /// left there, a server included, is stopped and removed first.
    fn in_folder(dir: PathBuf, port: u16) -> Cluster {
        stop_and_remove(&dir).unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        if is_root() {
            let ok = Command::new("chown").args(["postgres", &dir.to_string_lossy()]).status().unwrap();
            assert!(ok.success(), "chown postgres {} failed", dir.display());
        }
        let data = data_folder(&dir).to_string_lossy().into_owned();
        Cluster { dir, data, port, address_space_limit: None, password: None, owned: true }
    }

    fn initdb(&self) {
        checked("initdb", &["-D", self.data(), "-U", "postgres", "-A", "trust", "--no-sync"]);
    }

    /// pg_basebackup into `standby`'s empty folder, through this cluster's
    /// socket, writing the settings that make it stream from here (-R); a
    /// fast checkpoint, so the copy starts at once.
    fn basebackup(&self, standby: Cluster, settings: &[&str]) -> Cluster {
        let (host, port) = (self.dir.to_string_lossy(), self.port.to_string());
        checked(
            "pg_basebackup",
            &["-h", &host, "-p", &port, "-U", "postgres", "-D", standby.data(), "-R", "-X", "stream", "-c", "fast"],
        );
        let settings: Vec<&str> = ["hot_standby = on"].iter().chain(settings).copied().collect();
        standby.configure(&settings);
        standby
    }

    fn configure(&self, settings: &[&str]) {
        let path = Path::new(self.data()).join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.push_str(&conf_lines(self.port, &self.dir, settings));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    pub fn data(&self) -> &str {
        &self.data
    }

    fn log(&self) -> String {
        format!("{}/server.log", self.dir.display())
    }

    /// Starts the server and waits until it accepts connections; fails with
    /// what pg_ctl printed and the server's log.
    pub fn start_server(&self) {
        let pg_ctl = format!("{PG_BIN}/pg_ctl");
        let args = ["-D", self.data(), "-l", &self.log(), "-w", "-t", "60", "start"];
        let out = match self.address_space_limit {
            None => as_owner(&pg_ctl, &args),
            Some(bytes) => {
                // prlimit runs pg_ctl with the limit; the postmaster and its
                // backends inherit it.
                let limit = format!("--as={bytes}");
                let mut prlimit_args = vec![limit.as_str(), "--", &pg_ctl];
                prlimit_args.extend(args);
                as_owner("prlimit", &prlimit_args)
            }
        };
        assert!(
            out.status.success(),
            "pg_ctl start in {} failed: {}{}server log:\n{}",
            self.data(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server_log()
        );
    }

    pub fn connection_string(&self) -> String {
        let password = self.password.as_ref().map(|p| format!(" password={p}")).unwrap_or_default();
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres{password}", self.port)
    }

    /// Runs one of PostgreSQL's client programs (pg_dump, pg_restore, psql)
    /// against this cluster as the superuser; returns its stdout.
    pub fn client_program(&self, program: &str, args: &[&str]) -> Vec<u8> {
        let port = self.port.to_string();
        let out = Command::new(format!("{PG_BIN}/{program}"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// The server's log so far, for assertions about what it logged.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = stop_and_remove(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_given_come_after_where_the_cluster_listens_so_they_can_override_it() {
        let conf = conf_lines(54330, Path::new("/tmp/c"), &["listen_addresses = ''", "jit = off"]);
        let lines: Vec<&str> = conf.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            [
                "port = 54330",
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = '/tmp/c'",
                "listen_addresses = ''",
                "jit = off"
            ]
        );
        assert!(conf.starts_with('\n'), "a postgresql.conf without a final newline keeps its last line");
    }

    #[test]
    fn the_port_is_read_from_the_fourth_line_of_postmaster_pid() {
        let pid_file = "4242\n/tmp/c/data\n1795000000\n54331\n/tmp/c\n127.0.0.1\n  1234567    32768\nready   \n";
        assert_eq!(port_from_pid_file(pid_file), Some(54331));
        assert_eq!(port_from_pid_file("4242\n/tmp/c/data\n"), None);
        assert_eq!(port_from_pid_file("4242\n/tmp/c/data\n1795000000\nnot a port\n"), None);
    }

    #[test]
    fn only_an_absent_or_empty_folder_or_one_holding_a_cluster_may_be_removed() {
        let base = std::env::temp_dir().join(format!("cn-cluster-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        assert!(is_cluster_folder(&base), "absent");
        std::fs::create_dir_all(&base).unwrap();
        assert!(is_cluster_folder(&base), "empty");
        std::fs::write(base.join("notes.txt"), "keep me").unwrap();
        assert!(!is_cluster_folder(&base), "someone's files");
        std::fs::create_dir(base.join("data")).unwrap();
        assert!(is_cluster_folder(&base), "a cluster's folder, with its log or a dump beside it");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
