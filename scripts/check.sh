#!/usr/bin/env bash
# The whole check, exactly what CI runs after `npm ci`: lint + format, type-check, every test, the build and the
# package checks. Every step runs even when an earlier one fails, so one run reports everything; the script exits
# non-zero if any step failed. The last line is `N passed, N failed`: the vitest test counts plus one count per
# non-test step (lint, typecheck, build, package), so a red lint is never hidden behind green tests.
set -u
cd "$(dirname "$0")/.."

steps_passed=0
steps_failed=0
failed_names=()

step() {
  local name="$1"
  shift
  echo "=== ${name}: $*"
  local t0=$SECONDS
  if "$@"; then
    steps_passed=$((steps_passed + 1))
    echo "=== ${name}: ok ($((SECONDS - t0)) s)"
  else
    steps_failed=$((steps_failed + 1))
    failed_names+=("$name")
    echo "=== ${name}: FAILED ($((SECONDS - t0)) s)"
  fi
}

report=".vitest-report.json"
rm -f "$report"

step lint npx eslint .
step format npx biome ci --colors=off .
step typecheck npx tsc -p tsconfig.json --noEmit
step tests npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
step build npx tsc -p tsconfig.build.json
step cli node dist/cli/main.js locate user:1 --partitions 64
step package npx publint --strict
step types npx attw --pack . --profile esm-only
step apidocs npx typedoc --emit none

# The tests step counts its own tests; replace the single step count with the real test counts.
tests_passed=0
tests_failed=0
if [[ -f "$report" ]]; then
  read -r tests_passed tests_failed < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    // Suites that fail to load (syntax errors, import errors) have no tests but must still count as failures.
    const brokenSuites = (r.testResults || []).filter((s) => s.status === "failed" && (s.assertionResults || []).length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + brokenSuites);
  ' "$report")
else
  tests_failed=1
fi
# The "tests" step itself is represented by its test counts, not by one more pass/fail.
if [[ " ${failed_names[*]-} " == *" tests "* ]]; then steps_failed=$((steps_failed - 1)); [[ $tests_failed -eq 0 ]] && tests_failed=1; else steps_passed=$((steps_passed - 1)); fi

total_failed=$((tests_failed + steps_failed))
if [[ ${#failed_names[@]} -gt 0 ]]; then echo "failed steps: ${failed_names[*]}"; fi
echo "$((tests_passed + steps_passed)) passed, ${total_failed} failed"
[[ $total_failed -eq 0 && ${#failed_names[@]} -eq 0 ]]
