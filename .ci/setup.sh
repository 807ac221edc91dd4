#!/usr/bin/env bash
# Installs what coursenav needs on Debian 12, as root or as a user with sudo.
# Safe to run again: it installs only what is missing.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

packages=(postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-contrib
          libclang-dev clang pkg-config sudo ca-certificates)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "coursenav setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "coursenav setup: cargo is missing; install a Rust toolchain (1.88 or newer) with rustup first" >&2
    exit 1
fi
# The test command checks formatting and lints.
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "coursenav setup: adding the Rust component $component"
        rustup component add "$component"
    fi
done
if [ "$(cargo pgrx --version 2>/dev/null)" != "cargo-pgrx 0.18.1" ]; then
    echo "coursenav setup: installing cargo-pgrx 0.18.1 (about 12 minutes on 2 cores)"
    cargo install cargo-pgrx --version 0.18.1 --locked
fi

# cargo pgrx test and install copy the extension into Debian's PostgreSQL
# folders. As a user with sudo, own those two folders rather than running
# cargo as root (the files already in them stay root's).
if [ "$(id -u)" -ne 0 ]; then
    for dir in "$(/usr/lib/postgresql/15/bin/pg_config --sharedir)/extension" \
               "$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)"; do
        [ -w "$dir" ] || { echo "coursenav setup: giving $USER write access to $dir"; sudo chown "$USER" "$dir"; }
    done
fi
