//! The fuzzer: seeded, deterministic mutations of valid Course Blocks
//! documents, course overviews and catalog pages (type swaps, numbers beyond
//! f64 and numbers that print as 131,072 digits, deep nesting, long strings,
//! NUL, bad dates, many pairs, keys given twice, keys of another course,
//! fields missing or added), thrown at clusters whose backends run under a
//! 1.5 GiB address-space limit, so an allocation a document can make
//! unbounded aborts the backend instead of quietly growing.
//!
//! What every case must show: no backend aborted or crashed (the postmaster
//! kept its start time, no "terminated by signal" in the log); a refusal
//! carries a SQLSTATE the README documents, never XX000; a refusal leaves
//! the version serving as it was; an accepted rebuild serves exactly what a
//! small reader of the stored chunks, written here and independent of
//! coursenav's Rust, says it must; an accepted overview holds what was sent;
//! a catalog run ends with a status, and what the catalog failed to give
//! leaves the overviews as they were.
//!
//! `COURSENAV_FUZZ_SEED` (decimal or 0x-hex) replaces the fixed seed and
//! `COURSENAV_FUZZ_CASES` the number of cases (shared out among the three
//! families); both are printed. `COURSENAV_FUZZ_VERBOSE` prints how every
//! catalog run ended. Case `n` of a family draws from its own
//! ChaCha8 stream, so a seed and a case number replay that case alone.
//! Failures are gathered, not stopped at: the test fails at the end with
//! every failure grouped by family, each with the seed, the case number and
//! the mutated input (cut short).

use crate::cluster::Cluster;
use crate::fuzz_json::truncated;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const DEFAULT_SEED: u64 = 0x00c0_75e5_fa22_2026;
const DEFAULT_CASES: usize = 3000;
/// RLIMIT_AS of every backend: a few times what a 100,000-block rebuild
/// takes, far less than what an unbounded reservation from a document asks.
pub(crate) const MEMORY_LIMIT: u64 = 1536 << 20;
/// Cases run in one transaction, each in its own savepoint.
pub(crate) const BATCH: usize = 40;

/// The SQLSTATEs README.md's errors table documents for a refusal, and
/// 53200 (out_of_memory), which a statement that cannot get its memory
/// raises instead of aborting. XX000 (internal_error) is never one.
pub(crate) const DOCUMENTED_SQLSTATES: [&str; 9] =
    ["22023", "23514", "23505", "55000", "54000", "22004", "42704", "53200", "0A000"];

/// What PostgreSQL's own jsonb input raises for text it cannot take (NUL
/// as \u0000, a number past numeric's range, nesting past the stack limit):
/// such a case never reaches coursenav and is only counted.
pub(crate) const JSONB_INPUT_SQLSTATES: [&str; 6] = ["22P02", "22P05", "22003", "54001", "54000", "53200"];

/// Statements of the fuzzer's sessions: a safety net so that a runaway
/// case fails (as an undocumented 57014) rather than hanging the test run.
/// No case comes anywhere near it; it is not a timing assertion.
pub(crate) const SESSION_SETTINGS: &str =
    "SET statement_timeout = '300s'; SET TimeZone = 'UTC'; SET client_min_messages = 'warning';";

/// The fuzzer's own helpers in the cluster: a date as PostgreSQL reads it
/// (seconds since the epoch, floored as coursenav drops fractions), or NULL
/// when PostgreSQL cannot read it; whether a text is broken.
pub(crate) const HELPERS: &str = "
    CREATE SCHEMA fuzz;
    -- Whether text holds NUL or is not valid in the database's encoding.
    CREATE FUNCTION fuzz.broken(t text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
        RETURN position('\\x00'::bytea IN convert_to(t, 'UTF8')) > 0;
    EXCEPTION WHEN others THEN
        RETURN true;
    END $$;
    CREATE FUNCTION fuzz.epoch(t text) RETURNS float8 LANGUAGE plpgsql AS $$
    BEGIN
        RETURN floor(extract(epoch FROM t::timestamptz));
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END $$;";

/// The seed, how many cases, and each case's own random stream.
pub(crate) struct Fuzz {
    pub seed: u64,
    pub cases: usize,
    family: u64,
    name: &'static str,
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

impl Fuzz {
    /// The settings for one family, which takes `share` of the cases.
    pub(crate) fn from_env(name: &'static str, family: u64, share: f64) -> Fuzz {
        let seed = env_number("COURSENAV_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
        let total = env_number("COURSENAV_FUZZ_CASES").map(|n| n as usize).unwrap_or(DEFAULT_CASES);
        let cases = ((total as f64 * share).round() as usize).max(1);
        eprintln!("fuzz {name}: COURSENAV_FUZZ_SEED={seed:#x}, {cases} of COURSENAV_FUZZ_CASES={total} cases");
        Fuzz { seed, cases, family, name }
    }

    /// Case `case`'s random stream: the same for a seed and case number
    /// whatever ran before it.
    pub(crate) fn rng(&self, case: usize) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream((self.family << 40) | case as u64);
        rng
    }
}

/// One case as a failure message shows it.
#[derive(Clone)]
pub(crate) struct CaseInfo {
    pub number: usize,
    /// The first mutation: what the failure is grouped by.
    pub family: String,
    /// Every mutation and how the case was run, in words.
    pub recipe: String,
    pub input: String,
    /// How long the input was before it was cut short.
    pub input_bytes: usize,
}

impl CaseInfo {
    pub(crate) fn new(number: usize, family: &str, recipe: String, input: &str) -> CaseInfo {
        CaseInfo { number, family: family.to_string(), recipe, input: truncated(input, 400), input_bytes: input.len() }
    }
}

/// Inputs below this size never need the backend's memory limit: with every
/// bound in place such an input is refused by a bound (54000, 22023) long
/// before memory runs out, so out_of_memory for one means no bound held
/// (a pair bomb's reservation, a number printed as 131,072 digits).
const SMALL_INPUT: usize = 32 << 20;

struct Failure {
    case: CaseInfo,
    kind: String,
    detail: String,
}

/// Every failure of a run, reported together at the end.
pub(crate) struct Failures {
    seed: u64,
    name: &'static str,
    list: Vec<Failure>,
    /// Cases per family, and how each ended, for the summary.
    outcomes: BTreeMap<String, BTreeMap<String, usize>>,
    started: std::time::Instant,
    /// Time spent per family.
    time: BTreeMap<String, std::time::Duration>,
}

impl Failures {
    pub(crate) fn new(fuzz: &Fuzz) -> Failures {
        Failures {
            seed: fuzz.seed,
            name: fuzz.name,
            list: Vec::new(),
            outcomes: BTreeMap::new(),
            started: std::time::Instant::now(),
            time: BTreeMap::new(),
        }
    }

    /// Records a broken promise: `kind` groups it (say "undocumented
    /// SQLSTATE XX000"), `detail` says what exactly happened.
    pub(crate) fn add(&mut self, case: &CaseInfo, kind: impl Into<String>, detail: impl Into<String>) {
        let failure = Failure { case: case.clone(), kind: kind.into(), detail: detail.into() };
        eprintln!("fuzz {} FAILURE: {}", self.name, self.describe(&failure, 300));
        self.list.push(failure);
    }

    /// Counts how a case ended ("accepted", "refused 22023", ...).
    pub(crate) fn outcome(&mut self, case: &CaseInfo, outcome: impl Into<String>) {
        *self.outcomes.entry(case.family.clone()).or_default().entry(outcome.into()).or_default() += 1;
    }

    /// Adds the time a case of `case`'s family took (printed, never asserted).
    pub(crate) fn timed(&mut self, case: &CaseInfo, took: std::time::Duration) {
        if took.as_secs() >= 2 {
            eprintln!(
                "fuzz {}: case {} [{}] took {:.1} s ({})",
                self.name,
                case.number,
                case.family,
                took.as_secs_f64(),
                case.recipe
            );
        }
        *self.time.entry(case.family.clone()).or_default() += took;
    }

    /// How many cases ended in an outcome starting with `prefix`.
    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.outcomes.values().flat_map(|o| o.iter()).filter(|(k, _)| k.starts_with(prefix)).map(|(_, n)| n).sum()
    }

    fn describe(&self, f: &Failure, input_bytes: usize) -> String {
        format!(
            "seed {:#x} case {} [{}] {}: {}\n    recipe: {}\n    input: {}",
            self.seed,
            if f.case.number == usize::MAX { "-".to_string() } else { f.case.number.to_string() },
            f.case.family,
            f.kind,
            truncated(&f.detail, 600),
            f.case.recipe,
            truncated(&f.case.input, input_bytes)
        )
    }

    /// Prints what every family did and fails with every failure, grouped
    /// by family and kind, if there was any.
    pub(crate) fn finish(self) {
        let cases: usize = self.outcomes.values().flat_map(|o| o.values()).sum();
        eprintln!(
            "fuzz {}: {cases} cases in {:.0} s; outcomes per family (seed {:#x}):",
            self.name,
            self.started.elapsed().as_secs_f64(),
            self.seed
        );
        for (family, outcomes) in &self.outcomes {
            let list: Vec<String> = outcomes.iter().map(|(k, n)| format!("{k} x{n}")).collect();
            let took = self.time.get(family).map_or(0.0, |t| t.as_secs_f64());
            eprintln!("  {family} ({took:.1} s): {}", list.join(", "));
        }
        if self.list.is_empty() {
            return;
        }
        let mut groups: BTreeMap<(String, String), Vec<&Failure>> = BTreeMap::new();
        for f in &self.list {
            groups.entry((f.case.family.clone(), f.kind.clone())).or_default().push(f);
        }
        let mut message = format!(
            "fuzz {}: {} failures with COURSENAV_FUZZ_SEED={:#x} (replay with that seed; the case numbers say which):\n",
            self.name,
            self.list.len(),
            self.seed
        );
        for ((family, kind), failures) in &groups {
            message.push_str(&format!("\n== {family}: {kind}: {} cases\n", failures.len()));
            for f in failures.iter().take(3) {
                message.push_str(&self.describe(f, 300));
                message.push('\n');
            }
        }
        panic!("{message}");
    }
}

/// How a statement ended, as a case sees it.
pub(crate) enum Refusal {
    /// A SQLSTATE and message from the server.
    Error { code: String, message: String },
    /// The connection is gone: the backend died.
    Died(String),
}

pub(crate) fn refusal(error: &postgres::Error) -> Refusal {
    match error.as_db_error() {
        Some(db) => Refusal::Error { code: db.code().code().to_string(), message: db.message().to_string() },
        None => match error.code() {
            Some(code) => Refusal::Error { code: code.code().to_string(), message: error.to_string() },
            None => Refusal::Died(error.to_string()),
        },
    }
}

/// Checks a refusal against the documented SQLSTATEs (recording a failure
/// when it is not one) and counts it; `Died` when the backend is gone.
pub(crate) fn judge_refusal(failures: &mut Failures, case: &CaseInfo, error: &postgres::Error) -> Result<String, Died> {
    match refusal(error) {
        Refusal::Died(message) => {
            failures.add(case, "backend died (connection lost)", message);
            failures.outcome(case, "backend died");
            Err(Died)
        }
        Refusal::Error { code, message } => {
            if !DOCUMENTED_SQLSTATES.contains(&code.as_str()) {
                failures.add(case, format!("undocumented SQLSTATE {code}"), message);
            } else if code == "53200" && case.input_bytes < SMALL_INPUT {
                failures.add(
                    case,
                    "out of memory on a small input (no bound held)",
                    format!("{} bytes: {message}", case.input_bytes),
                );
            }
            let outcome = format!("refused {code}");
            failures.outcome(case, outcome.clone());
            Ok(outcome)
        }
    }
}

/// The backend of a case died: the batch it was in is gone.
pub(crate) struct Died;

/// A session of the fuzzer, reconnecting after a backend died.
pub(crate) struct Session<'c> {
    cluster: &'c Cluster,
    pub client: postgres::Client,
    pid: i32,
    peak: u64,
}

impl<'c> Session<'c> {
    pub(crate) fn open(cluster: &'c Cluster) -> Session<'c> {
        let mut client = cluster.connect_when_ready(std::time::Duration::from_secs(120));
        client.batch_execute(SESSION_SETTINGS).expect("session settings");
        let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        Session { cluster, client, pid, peak: vm_peak(pid) }
    }

    pub(crate) fn reopen(&mut self) {
        *self = Session::open(self.cluster);
    }

    /// Prints when a case took the backend to a new peak of address space
    /// (information for the reader, never asserted).
    pub(crate) fn note_peak(&mut self, name: &str, case: &CaseInfo) {
        let now = vm_peak(self.pid);
        if now > self.peak + (64 << 20) {
            eprintln!(
                "fuzz {name}: case {} [{}] took the backend's peak address space from {} MB to {} MB ({})",
                case.number,
                case.family,
                self.peak >> 20,
                now >> 20,
                case.recipe
            );
        }
        self.peak = self.peak.max(now);
    }
}

/// The transaction that cases run in savepoints share: committed every
/// `BATCH` cases, so that a case sees what the cases before it committed
/// without paying a commit each.
#[derive(Default)]
pub(crate) struct Batch {
    cases: usize,
}

impl Batch {
    /// Opens the transaction when none is open.
    pub(crate) fn enter(&mut self, session: &mut Session) -> Result<(), Died> {
        if self.cases == 0 {
            session.client.batch_execute("BEGIN").map_err(|_| Died)?;
        }
        self.cases += 1;
        Ok(())
    }

    /// After a case: a transaction that a failed check left aborted is
    /// rolled back (its failures are recorded already); a full batch is
    /// committed.
    pub(crate) fn settle(&mut self, session: &mut Session) -> Result<(), Died> {
        if self.cases == 0 {
            return Ok(());
        }
        if let Err(e) = session.client.batch_execute("SELECT 1") {
            if let Refusal::Died(_) = refusal(&e) {
                return Err(Died);
            }
            session.client.batch_execute("ROLLBACK").map_err(|_| Died)?;
            self.cases = 0;
        }
        if self.cases >= BATCH {
            self.commit(session)?;
        }
        Ok(())
    }

    /// Commits what is open.
    pub(crate) fn commit(&mut self, session: &mut Session) -> Result<(), Died> {
        if self.cases > 0 {
            self.cases = 0;
            session.client.batch_execute("COMMIT").map_err(|_| Died)?;
        }
        Ok(())
    }

    /// The backend died: its transaction is gone.
    pub(crate) fn lost(&mut self) {
        self.cases = 0;
    }
}

/// VmPeak of a process, in bytes (0 if it cannot be read).
fn vm_peak(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmPeak:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A cluster for one family, with the fuzzer's helpers.
pub(crate) fn fuzz_cluster(name: &str) -> Cluster {
    let cluster = Cluster::start_with_memory_limit(name, &[], MEMORY_LIMIT);
    cluster.execute(HELPERS);
    cluster
}

/// The promises about the cluster as a whole, checked once a family's cases
/// are done: the postmaster never restarted, no backend died of a signal.
pub(crate) fn check_cluster(failures: &mut Failures, cluster: &Cluster, started: &str) {
    let whole = CaseInfo::new(usize::MAX, "(whole run)", "every case of the family".into(), "");
    let now = cluster.postmaster_start_time();
    if now != started {
        failures.add(&whole, "the cluster restarted", format!("postmaster start time was {started}, is {now}"));
    }
    if cluster.backend_crashed() {
        let log = cluster.server_log();
        let lines: Vec<&str> =
            log.lines().filter(|l| l.contains("terminated by") || l.contains("memory allocation")).take(10).collect();
        failures.add(&whole, "a backend died of a signal", lines.join("\n"));
    }
}

#[test]
fn fuzzed_course_blocks_documents_never_crash_a_backend_and_are_refused_cleanly_or_served_as_stored() {
    crate::fuzz_blocks::run(Fuzz::from_env("documents", 1, 0.55));
}

#[test]
fn fuzzed_overviews_never_crash_a_backend_and_are_refused_cleanly_or_stored_as_sent() {
    crate::fuzz_overview::run(Fuzz::from_env("overviews", 2, 0.25));
}

#[test]
fn fuzzed_catalog_pages_never_crash_a_backend_and_never_lose_what_was_synced() {
    crate::fuzz_catalog::run(Fuzz::from_env("catalog", 3, 0.20));
}
