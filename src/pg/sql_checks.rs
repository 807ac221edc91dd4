//! Helpers the `#[pg_test]` modules share: quoting SQL literals and catching
//! an error as its SQLSTATE and message.

use pgrx::prelude::*;

/// The first column of every row `query` returns, as text ('' for NULL).
pub(super) fn texts(query: &str) -> Vec<String> {
    Spi::connect(|client| {
        client
            .select(query, None, &[])?
            .map(|row| row.get::<String>(1).map(Option::unwrap_or_default))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap()
}

pub(super) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Runs `statement`; returns "SQLSTATE: message", or "no error". The
/// statement runs in a PL/pgSQL exception block (a subtransaction), so the
/// test's transaction goes on after an error.
pub(super) fn error_of(statement: &str) -> String {
    Spi::run(
        "CREATE OR REPLACE FUNCTION pg_temp.error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
         BEGIN EXECUTE statement; RETURN 'no error';
         EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; END $$",
    )
    .unwrap();
    Spi::get_one::<String>(&format!("SELECT pg_temp.error_of({})", quote(statement))).unwrap().unwrap()
}

/// Asserts that `statement` fails with `sqlstate` and a message naming each needle.
pub(super) fn assert_error(statement: &str, sqlstate: &str, needles: &[&str]) {
    let error = error_of(statement);
    assert!(error.starts_with(&format!("{sqlstate}: ")), "{statement}\n  gave {error}");
    for needle in needles {
        assert!(error.contains(needle), "{error} does not name {needle}");
    }
}
