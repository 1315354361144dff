#!/usr/bin/env bash
# The main job: builds libspop, starts a private Dovecot on loopback with a
# sample mailbox, and runs spop-probe against it, printing its report.
# Extra arguments go to spop-probe (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -d build-demo ] || meson setup build-demo >/dev/null
ninja -C build-demo >/dev/null
dir=$PWD/build-demo/demo-dovecot
tests/harness/dovecot-harness.sh start "$dir" >/dev/null
trap 'tests/harness/dovecot-harness.sh stop "$dir" >/dev/null' EXIT
SPOP_PLUGIN_PATH=$PWD/build-demo/plugins build-demo/tools/spop-probe/spop-probe \
	--server 127.0.0.1 --port "$(cat "$dir/port")" \
	--user alice --password alice-secret --list --retrieve 1 \
	--output "$dir/out" "$@"
