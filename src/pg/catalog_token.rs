//! The catalog's bearer token: from the file `coursenav.catalog_token_file`
//! names, when a superuser set one, else from `coursenav.catalog_credentials`.
//!
//! The file is the way that keeps the token out of every query text: a
//! `SELECT coursenav.set_catalog_token('...')` is visible in
//! `pg_stat_activity.query` to `pg_monitor` members while it runs, and in the
//! server log if statements are logged. A file written by the operator (as
//! Open edX's own settings are) and named in postgresql.conf never passes
//! through SQL at all.

use crate::pg::errors::OrRaise;
use crate::pg::settings::{text, CATALOG_TOKEN_FILE};
use pgrx::prelude::*;
use std::io::Read;

/// A bearer token is a JWT of a kilobyte or two; a file larger than this is
/// not a token, and is refused before more of it is read.
const MAX_TOKEN_FILE_BYTES: u64 = 16 * 1024;

/// The token, or why there is none (words for the run's error column; they
/// never hold the token).
pub(super) fn catalog_token() -> Result<String, String> {
    let path = text(&CATALOG_TOKEN_FILE);
    if path.is_empty() {
        return stored_token().ok_or_else(|| {
            "no catalog token: set one with coursenav.set_catalog_token(token) or coursenav.catalog_token_file".into()
        });
    }
    read_token_file(&path)
}

fn read_token_file(path: &str) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read coursenav.catalog_token_file \"{path}\": {e}");
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!("coursenav.catalog_token_file \"{path}\" is larger than {MAX_TOKEN_FILE_BYTES} bytes"));
    }
    let token = std::str::from_utf8(&bytes)
        .map_err(|_| format!("coursenav.catalog_token_file \"{path}\" is not UTF-8 text"))?
        .trim();
    // The token goes into an HTTP header: one line of visible characters.
    if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "coursenav.catalog_token_file \"{path}\" must hold the token alone, on one line with no spaces"
        ));
    }
    Ok(token.to_string())
}

/// The token `set_catalog_token` stored, if any. Read on the backend's
/// thread, before any request; it goes only into the Authorization header.
fn stored_token() -> Option<String> {
    Spi::connect(|client| {
        let rows = client.select("SELECT token FROM coursenav.catalog_credentials", Some(1), &[])?;
        match rows.is_empty() {
            true => Ok(None),
            false => rows.first().get::<String>(1),
        }
    })
    .or_raise()
}
