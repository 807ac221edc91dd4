# Sourced by the scripts in .ci: paths and the helpers every script shares.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGRX_HOME="$ROOT/pgrx-config"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$HOME/.cargo/bin:$PATH"

# initdb refuses to run as root: as root, clusters belong to postgres.
as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

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

# start_cluster DIR PORT [postgresql.conf lines...]: a throwaway cluster on
# 127.0.0.1, trust authentication, sockets inside DIR.
start_cluster() {
    local dir="$1" port="$2"
    shift 2
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_cluster_owner initdb -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        for line in "$@"; do echo "$line"; done
    } | as_cluster_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    as_cluster_owner pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

stop_cluster() {
    local dir="$1"
    [ -d "$dir/data" ] && as_cluster_owner pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
