//! Turning core problems and bad arguments into Postgres errors with the
//! right SQLSTATE.

use coursenav_domain::problem::{Problem, ProblemKind};
use pgrx::pg_sys::panic::{CaughtError, ErrorReport};
use pgrx::{PgLogLevel, PgSqlErrorCode, PgTryBuilder};
use std::panic::AssertUnwindSafe;

fn sqlstate(kind: ProblemKind) -> PgSqlErrorCode {
    match kind {
        ProblemKind::BadKey | ProblemKind::BadShape => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ProblemKind::BadStructure => PgSqlErrorCode::ERRCODE_CHECK_VIOLATION,
        ProblemKind::DuplicateBlock => PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
        ProblemKind::TooManyBlocks => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ProblemKind::OutOfMemory => PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
    }
}

/// Raises an ERROR; never returns.
pub(super) fn raise(code: PgSqlErrorCode, message: String) -> ! {
    ErrorReport::new(code, message, "coursenav").report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Raises an ERROR with a hint; never returns.
pub(super) fn raise_with_hint(code: PgSqlErrorCode, message: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "coursenav").set_hint(hint).report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Runs `f`, whose SQL may raise an ERROR by a rule that lives in SQL
/// (`lock_building_rebuild`, say), and raises that ERROR again as it was:
/// SQLSTATE, message, detail and hint. Left to cross the Rust frames, it
/// would reach the client with a Rust backtrace as its DETAIL. The
/// transaction is aborting either way; nothing is caught for good.
pub(super) fn with_sql_errors<T>(f: impl FnOnce() -> T) -> T {
    PgTryBuilder::new(AssertUnwindSafe(f))
        .catch_others(|caught| match caught {
            CaughtError::PostgresError(report) => {
                let mut again = ErrorReport::new(report.sql_error_code(), report.message().to_string(), "coursenav");
                if let Some(detail) = report.detail() {
                    again = again.set_detail(detail.to_string());
                }
                if let Some(hint) = report.hint() {
                    again = again.set_hint(hint.to_string());
                }
                again.report(PgLogLevel::ERROR);
                unreachable!("an ERROR report does not return")
            }
            other => other.rethrow(),
        })
        .execute()
}

pub(super) fn raise_problem(problem: Problem) -> ! {
    raise(sqlstate(problem.kind), format!("coursenav: {}", problem.message))
}

/// Unwraps a SQL argument that must not be NULL.
pub(super) fn required<T>(value: Option<T>, argument: &str, function: &str) -> T {
    value.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("coursenav.{function}: argument {argument} must not be NULL"),
        )
    })
}

pub(super) trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Problem> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|p| raise_problem(p))
    }
}

impl<T> OrRaise<T> for Result<T, pgrx::spi::Error> {
    /// SQL errors inside SPI already raise; this is for misuse of the SPI
    /// API itself, which is a bug in coursenav.
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("coursenav: {e}")))
    }
}
