#!/usr/bin/env bash
# Build the documentation site offline, warnings as errors, broken cross-references failing.
#
#   docs/build.sh            fast gallery: only tutorials named plot_fast_*.py run (the CI job)
#   docs/build.sh full       every tutorial runs (each under about a minute on 2 CPU cores)
#   docs/build.sh none OUT   no tutorial runs; the site goes to OUT/html (default docs/_build)
#
# PYTHON selects the interpreter (default: python); NEURODL_DATA the data root of the tutorials
# on real data (default: ../shared/data next to the repository).
set -euo pipefail
mode="${1:-fast}"
case "$mode" in
  fast | full | none) ;;
  *)
    echo "Invalid value for 'mode'. Allowed: 'fast', 'full', 'none'; got '$mode'." >&2
    exit 2
    ;;
esac
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${NEURODL_DATA:-}" ] && [ -d "$NEURODL_DATA" ]; then
  NEURODL_DATA="$(cd "$NEURODL_DATA" && pwd)" # relative to where the build is started
  export NEURODL_DATA
fi
out="${2:-$repo/docs/_build}"
cd "$repo"
export NEURODL_DOCS_GALLERY="$mode"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export MPLBACKEND=Agg
exec "${PYTHON:-python}" -m sphinx -b html -n -W --keep-going -q \
  -d "$out/doctrees" docs "$out/html"
