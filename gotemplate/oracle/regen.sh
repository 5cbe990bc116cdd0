#!/usr/bin/env bash
# Regenerates the expected results of the committed differential tables from the Go oracle.
# Usage: gotemplate/oracle/regen.sh [table.json ...]   (default: every table in tests/data)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../tests/data"
bin="${EDDY_GOTEMPLATE_ORACLE:-$HOME/.cache/eddy/gotemplate-oracle/regen/oracle}"
mkdir -p "$(dirname "$bin")"
(cd "$here" && go build -o "$bin" .)
tables=("$@")
if [ ${#tables[@]} -eq 0 ]; then
  # Sprig's own tests are collected afresh from the module cache first.
  (cd "$here" && go mod download github.com/Masterminds/sprig/v3)
  "$bin" sprigtests "$(go env GOMODCACHE)/github.com/!masterminds/sprig/v3@v3.3.0" > "$data/sprig_tests.json"
  (cd "$here" && go mod download helm.sh/helm/v4)
  "$bin" helmtests "$(go env GOMODCACHE)/helm.sh/helm/v4@v4.2.2" > "$data/helm_funcs_tests.json"
  tables=("$data"/semantics.json "$data"/fmt.json "$data"/sprig.json "$data"/sprig_tests.json "$data"/helm_funcs_tests.json "$data"/to_yaml_pretty.json)
fi
for table in "${tables[@]}"; do
  [ -f "$table" ] || continue
  "$bin" fill < "$table" > "$table.new"
  mv "$table.new" "$table"
  echo "regenerated $table"
done
