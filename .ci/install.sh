#!/usr/bin/env bash
# Installs (or upgrades to) this build of coursenav into Debian's PostgreSQL
# 15: what is missing first (setup.sh), then the release build with every
# upgrade script and the kept install scripts of earlier releases. Then run
# ALTER EXTENSION coursenav UPDATE in each database that has coursenav.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
hold_install_lock "$@"
bash "$ROOT/.ci/setup.sh"
cd "$ROOT"
install_extension --release
echo "coursenav $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1) installed; now run ALTER EXTENSION coursenav UPDATE in each database that has it."
