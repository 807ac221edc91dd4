//! Throwaway PostgreSQL 15 clusters for black-box tests: initdb, start, stop,
//! crash and replicate, each in its own folder on its own port. The coursenav
//! extension must already be installed into Debian's PostgreSQL (the test
//! command does that before it runs these tests).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub(crate) const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs a PostgreSQL program as the cluster owner: `postgres` when we are
/// root (initdb refuses root), ourselves otherwise.
fn as_owner(program: &str, args: &[&str]) -> Output {
    let path = format!("{PG_BIN}/{program}");
    let output = if is_root() {
        Command::new("runuser").args(["-u", "postgres", "--", &path]).args(args).output()
    } else {
        Command::new(&path).args(args).output()
    }
    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    output
}

fn checked(program: &str, args: &[&str]) {
    let out = as_owner(program, args);
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

pub(crate) struct Cluster {
    pub dir: PathBuf,
    data: String,
    pub port: u16,
    /// RLIMIT_AS for the postmaster and so every backend, when set.
    address_space_limit: Option<u64>,
    /// The superuser's password, for a cluster with password authentication.
    password: Option<String>,
}

impl Cluster {
    /// A new cluster with coursenav created in database `postgres`.
    pub(crate) fn start(name: &str, settings: &[&str]) -> Cluster {
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
    pub(crate) fn start_with_memory_limit(name: &str, settings: &[&str], bytes: u64) -> Cluster {
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
    pub(crate) fn start_with_stock_authentication(name: &str, settings: &[&str], password: &str) -> Cluster {
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
        cluster.configure(settings);
        cluster.password = Some(password.to_string());
        cluster.start_server();
        cluster.execute("CREATE EXTENSION coursenav");
        cluster
    }

    /// Stops the server and starts it again under an address-space limit
    /// (or none): for a test that must prepare data no limited backend
    /// could build (an 8-million-pair jsonb takes PostgreSQL's own
    /// aggregation past 1.5 GiB) and then use it under the limit.
    pub(crate) fn restart_with_memory_limit(&mut self, bytes: Option<u64>) {
        checked("pg_ctl", &["-D", self.data(), "-m", "fast", "-w", "stop"]);
        self.address_space_limit = bytes;
        self.start_server();
    }

    /// When the postmaster started, which a crash and restart would change.
    pub(crate) fn postmaster_start_time(&self) -> String {
        self.connect().query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0)
    }

    /// Whether any backend died of a signal (a Rust abort, a segfault) so far.
    pub(crate) fn backend_crashed(&self) -> bool {
        let log = self.server_log();
        log.contains("terminated by signal") || log.contains("was terminated by exception")
    }

    /// An empty folder the cluster owner can write, and a free port.
    fn new_folder(name: &str) -> Cluster {
        let dir = PathBuf::from(format!("/tmp/cnbb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let ok = Command::new("chown").args(["postgres", dir.to_str().unwrap()]).status().unwrap();
            assert!(ok.success());
        }
        let data = format!("{}/data", dir.display());
        Cluster { dir, data, port: free_port(), address_space_limit: None, password: None }
    }

    fn init(name: &str, settings: &[&str]) -> Cluster {
        let cluster = Cluster::new_folder(name);
        checked("initdb", &["-D", cluster.data(), "-U", "postgres", "-A", "trust", "--no-sync"]);
        cluster.configure(settings);
        cluster
    }

    fn configure(&self, settings: &[&str]) {
        let mut conf = format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\n",
            self.port,
            self.dir.display()
        );
        for line in settings {
            conf.push_str(line);
            conf.push('\n');
        }
        let path = Path::new(self.data()).join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&conf);
        std::fs::write(&path, text).unwrap();
    }

    pub(crate) fn data(&self) -> &str {
        &self.data
    }

    fn log(&self) -> String {
        format!("{}/server.log", self.dir.display())
    }

    pub(crate) fn start_server(&self) {
        let args = ["-D", self.data(), "-l", &self.log(), "-w", "-t", "60", "start"];
        match self.address_space_limit {
            None => checked("pg_ctl", &args),
            Some(bytes) => {
                // prlimit runs pg_ctl with the limit; the postmaster and its
                // backends inherit it.
                let limit = format!("--as={bytes}");
                let pg_ctl = format!("{PG_BIN}/pg_ctl");
                let mut command = vec!["prlimit", &limit, "--", &pg_ctl];
                command.extend(args);
                let out = if is_root() {
                    Command::new("runuser").args(["-u", "postgres", "--"]).args(&command).output()
                } else {
                    Command::new(command[0]).args(&command[1..]).output()
                }
                .expect("prlimit pg_ctl");
                assert!(out.status.success(), "pg_ctl under prlimit failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }

    pub(crate) fn connection_string(&self) -> String {
        let password = self.password.as_ref().map(|p| format!(" password={p}")).unwrap_or_default();
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres{password}", self.port)
    }

    pub(crate) fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.connection_string(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.port))
    }

    /// A session of another role (trust authentication: no password), in `database`.
    pub(crate) fn connect_as(&self, user: &str, database: &str) -> postgres::Client {
        let connection = format!("host=127.0.0.1 port={} user={user} dbname={database}", self.port);
        postgres::Client::connect(&connection, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {} as {user}: {e}", self.port))
    }

    /// Runs one of PostgreSQL's client programs (pg_dump, pg_restore, psql)
    /// against this cluster as the superuser; returns its stdout.
    pub(crate) fn client_program(&self, program: &str, args: &[&str]) -> Vec<u8> {
        let port = self.port.to_string();
        let out = Command::new(format!("{PG_BIN}/{program}"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Connects, retrying while the server recovers from a crash.
    pub(crate) fn connect_when_ready(&self, within: Duration) -> postgres::Client {
        let deadline = Instant::now() + within;
        loop {
            match postgres::Client::connect(&self.connection_string(), postgres::NoTls) {
                Ok(client) => return client,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => panic!("server did not come back: {e}"),
            }
        }
    }

    pub(crate) fn execute(&self, sql: &str) {
        self.connect().batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A hot standby streaming from this cluster, which must have been
    /// started with `wal_level = replica` (the default).
    pub(crate) fn start_standby(&self, name: &str) -> Cluster {
        let standby = Cluster::new_folder(name);
        let port = self.port.to_string();
        checked(
            "pg_basebackup",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D", standby.data(), "-R", "-X", "stream"],
        );
        standby.configure(&["hot_standby = on"]);
        standby.start_server();
        standby
    }

    /// The server's log so far, for assertions about what it logged.
    pub(crate) fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        as_owner("pg_ctl", &["-D", self.data(), "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
