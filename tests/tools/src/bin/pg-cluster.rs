//! `pg-cluster start|standby|stop`: the throwaway PostgreSQL 15 clusters of
//! `.ci/regress.sh`, `.ci/bench.sh` and `.ci/demo.sh`, made by the harness the
//! black-box tests use (`coursenav_tools::cluster`). A cluster outlives this
//! program until `pg-cluster stop`. As root, PostgreSQL's programs run as
//! `postgres`. Fails (status 101) with what the failing program printed.
//!
//!     pg-cluster start /tmp/c 54330 "fsync = off" && psql -h /tmp/c -p 54330 -U postgres

use coursenav_tools::cluster::{is_cluster_folder, stop_and_remove, Cluster};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: pg-cluster start DIR PORT [SETTING...]
       pg-cluster standby PRIMARY_DIR DIR PORT [SETTING...]
       pg-cluster stop DIR
  start    a fresh cluster in DIR, started: initdb with trust authentication, listening on
           127.0.0.1:PORT and a socket in DIR, each SETTING a postgresql.conf line (\"jit = off\");
           a cluster DIR held before is stopped and removed first
  standby  a hot standby, started, of the cluster running in PRIMARY_DIR, copied by pg_basebackup
           through its socket and streaming from it; DIR, PORT and SETTINGs as for start
  stop     stops the cluster in DIR if one runs (immediate shutdown) and removes DIR";

#[derive(Debug, PartialEq)]
enum Action {
    Start { dir: PathBuf, port: u16, settings: Vec<String> },
    Standby { primary: PathBuf, dir: PathBuf, port: u16, settings: Vec<String> },
    Stop { dir: PathBuf },
}

fn port(value: &str) -> Result<u16, String> {
    match value.parse() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("PORT: {value:?} is not a port number")),
    }
}

fn parse(args: &[String]) -> Result<Action, String> {
    match args {
        [action, dir, p, settings @ ..] if action == "start" => {
            Ok(Action::Start { dir: dir.into(), port: port(p)?, settings: settings.to_vec() })
        }
        [action, primary, dir, p, settings @ ..] if action == "standby" => Ok(Action::Standby {
            primary: primary.into(),
            dir: dir.into(),
            port: port(p)?,
            settings: settings.to_vec(),
        }),
        [action, dir] if action == "stop" => Ok(Action::Stop { dir: dir.into() }),
        [action, ..] if ["start", "standby", "stop"].contains(&action.as_str()) => {
            Err(format!("{action}: wrong number of arguments"))
        }
        [action, ..] => Err(format!("unknown action {action:?}")),
        [] => Err("no action".into()),
    }
}

fn lines(settings: &[String]) -> Vec<&str> {
    settings.iter().map(String::as_str).collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let action = match parse(&args) {
        Ok(action) => action,
        Err(e) => {
            eprintln!("pg-cluster: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The harness fails by panicking, with what initdb, pg_ctl or
    // pg_basebackup printed: say that, without a thread name and source line.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        eprintln!("pg-cluster: {}", message.unwrap_or("failed"));
    }));
    match action {
        Action::Start { dir, port, settings } => {
            let cluster = Cluster::init_in(&dir, port, &lines(&settings));
            cluster.start_server();
            cluster.leave_running();
        }
        Action::Standby { primary, dir, port, settings } => {
            let standby = Cluster::running_in(&primary).standby_in(&dir, port, &lines(&settings));
            standby.start_server();
            standby.leave_running();
        }
        Action::Stop { dir } => {
            if !is_cluster_folder(&dir) {
                eprintln!("pg-cluster: {} holds files but no cluster (no data folder): not removing it", dir.display());
                return ExitCode::FAILURE;
            }
            if let Err(e) = stop_and_remove(&dir) {
                eprintln!("pg-cluster: cannot remove {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(String::from).collect()
    }

    #[test]
    fn start_takes_a_folder_a_port_and_settings_as_given() {
        let mut given = args("start /tmp/c 54330");
        given.extend(["shared_buffers = '512MB'".to_string(), "jit = off".to_string()]);
        assert_eq!(
            parse(&given),
            Ok(Action::Start {
                dir: "/tmp/c".into(),
                port: 54330,
                settings: vec!["shared_buffers = '512MB'".into(), "jit = off".into()]
            })
        );
    }

    #[test]
    fn standby_names_its_primary_folder_first() {
        assert_eq!(
            parse(&args("standby /tmp/p /tmp/s 54331")),
            Ok(Action::Standby { primary: "/tmp/p".into(), dir: "/tmp/s".into(), port: 54331, settings: vec![] })
        );
    }

    #[test]
    fn a_port_that_is_not_one_is_refused_by_name() {
        assert_eq!(parse(&args("start /tmp/c 70000")), Err("PORT: \"70000\" is not a port number".into()));
        assert_eq!(parse(&args("start /tmp/c 0")), Err("PORT: \"0\" is not a port number".into()));
        assert_eq!(parse(&args("standby /tmp/p /tmp/s x")), Err("PORT: \"x\" is not a port number".into()));
    }

    #[test]
    fn missing_or_extra_arguments_and_unknown_actions_are_refused() {
        assert_eq!(parse(&args("start /tmp/c")), Err("start: wrong number of arguments".into()));
        assert_eq!(parse(&args("stop /tmp/c /tmp/d")), Err("stop: wrong number of arguments".into()));
        assert_eq!(parse(&args("restart /tmp/c")), Err("unknown action \"restart\"".into()));
        assert_eq!(parse(&[]), Err("no action".into()));
        assert_eq!(parse(&args("stop /tmp/c")), Ok(Action::Stop { dir: "/tmp/c".into() }));
    }
}
