# Sourced by the scripts in .ci: paths and the helpers every script shares.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGRX_HOME="$ROOT/pgrx-config"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$HOME/.cargo/bin:$PATH"

# Installing the extension replaces files that running clusters load, so
# scripts that install or start clusters run one at a time per machine: the
# calling script runs again under the lock. `flock -o` keeps the lock's file
# descriptor out of the script, so no cluster it starts can inherit the lock
# and hold it after the script ends.
hold_install_lock() {
    if [ "${COURSENAV_INSTALL_LOCK_HELD:-}" != 1 ]; then
        exec env COURSENAV_INSTALL_LOCK_HELD=1 flock -o /tmp/coursenav-install.lock bash "$0" "$@"
    fi
}

# Builds and installs the extension into Debian's PostgreSQL 15 (setup.sh
# made its folders writable for a user with sudo). cargo pgrx installs the
# current version's script and the upgrade scripts (sql/coursenav--A--B.sql);
# the install scripts of earlier releases, kept as sql/coursenav--X.sql, are
# copied beside them so `CREATE EXTENSION coursenav VERSION 'X'` works (the
# upgrade test starts from them).
install_extension() {
    cargo pgrx install "$@" --pg-config "$PG_CONFIG"
    local current script
    current="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)"
    for script in "$ROOT"/sql/coursenav--*.sql; do
        case "$(basename "$script")" in
        *--*--*) ;;                                  # an upgrade script: cargo pgrx copied it
        "coursenav--$current.sql") ;;                # the current version: cargo pgrx wrote it
        *) cp "$script" "$("$PG_CONFIG" --sharedir)/extension/" ;;
        esac
    done
}

# The test tools' binaries (tests/tools), built in release, honouring CARGO_TARGET_DIR.
TOOLS="${CARGO_TARGET_DIR:-$ROOT/target}/release"

# Builds them (pg-cluster, fake-catalog, olx-course-blocks); prints cargo's
# output only when the build fails.
build_tools() {
    local log status=0
    log="$(mktemp /tmp/cn-tools-build.XXXXXX)"
    (cd "$ROOT" && cargo build --release -p coursenav-tools) >"$log" 2>&1 || status=$?
    [ "$status" -eq 0 ] || cat "$log" >&2
    rm -f "$log"
    return "$status"
}

# pg_cluster start DIR PORT [SETTING...] | standby PRIMARY_DIR DIR PORT [SETTING...] | stop DIR:
# the scripts' throwaway clusters (127.0.0.1, trust authentication, sockets in
# DIR, as postgres when root), by the black-box tests' harness (tests/tools:
# pg-cluster). Needs build_tools first.
pg_cluster() {
    "$TOOLS/pg-cluster" "$@"
}
