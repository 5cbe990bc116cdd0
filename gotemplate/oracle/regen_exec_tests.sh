#!/usr/bin/env bash
# Regenerates tests/data/go_exec_tests.json from the Go toolchain's own text/template exec tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(mktemp -d)/oracle"
(cd "$here" && go build -o "$bin" .)
"$bin" exectests "$(go env GOROOT)/src/text/template/exec_test.go" > "$here/../tests/data/go_exec_tests.json"
echo "wrote $here/../tests/data/go_exec_tests.json ($(go version))"
