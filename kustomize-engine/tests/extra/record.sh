#!/usr/bin/env bash
# Records kubectl's (kustomize v5.5.0) output for every case in this directory, in the same layout as
# shared/corpus/kustomize: input/, case.json (target, expect), expected.yaml or expected-error.txt.
# Usage: tests/extra/record.sh [CASE...]   (all cases by default; needs kubectl v1.32 on PATH)
set -euo pipefail
cd "$(dirname "$0")"
if [ "$#" -eq 0 ]; then set -- */; fi
for case_dir in "$@"; do
  case_dir=${case_dir%/}
  target=$(python3 -c "import json;print(json.load(open('$case_dir/case.json'))['target'])")
  # Optional Flux-style options: "reorder": "none", "loadRestrictor": "none".
  flags=$(python3 -c "
import json
c = json.load(open('$case_dir/case.json'))
f = []
if c.get('reorder') == 'none': f.append('--reorder none')
if c.get('loadRestrictor') == 'none': f.append('--load-restrictor LoadRestrictionsNone')
print(' '.join(f))")
  rm -f "$case_dir/expected.yaml" "$case_dir/expected-error.txt"
  # shellcheck disable=SC2086
  if kubectl kustomize $flags "$case_dir/input/$target" >"$case_dir/expected.yaml" 2>"$case_dir/stderr.txt"; then
    expect=output
    rm -f "$case_dir/stderr.txt"
  else
    expect=error
    rm -f "$case_dir/expected.yaml"
    sed "s|$PWD/$case_dir|<case>|g" "$case_dir/stderr.txt" >"$case_dir/expected-error.txt"
    rm -f "$case_dir/stderr.txt"
  fi
  python3 - "$case_dir" "$target" "$expect" <<'PY'
import json, sys
case_dir, target, expect = sys.argv[1:]
case = json.load(open(f"{case_dir}/case.json"))
case.update({"source": "eddy (recorded with kubectl kustomize v5.5.0)", "target": target, "expect": expect})
json.dump(case, open(f"{case_dir}/case.json", "w"), indent=1)
PY
  echo "$case_dir: $expect"
done
