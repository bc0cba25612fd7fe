#!/usr/bin/env bash
# The SDK from a plugin author's side: installs a built Lumen into a temporary prefix, builds
# examples/plugin-template out of tree against it (find_package(Lumen) + lumen_add_plugin),
# and runs the template's pipeline with the installed host.
#
# Usage: install_and_build_template.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 1
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
template_src=$source_dir/examples/plugin-template

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lumen-sdk-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
template_build=$tmp/template-build

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# Runs a command with its output in a log file; shows the log when it fails.
logged() {
  local log=$1
  shift
  echo "+ $*"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "command failed: $*"
  fi
}

# 1. Install, and check the layout a plugin author relies on.
logged "$tmp/install.log" cmake --install "$build_dir" --prefix "$prefix"
lumen=$prefix/bin/lumen
[[ -x $lumen ]] || fail "no $lumen after install"
[[ -f $prefix/include/lumen/lumen.hpp ]] || fail "SDK header include/lumen/lumen.hpp not installed"
[[ -f $prefix/include/lumen/version.hpp ]] || fail "generated include/lumen/version.hpp not installed"
config=$(find "$prefix" -path '*/cmake/Lumen/LumenConfig.cmake' | head -n 1)
[[ -n $config ]] || fail "LumenConfig.cmake not installed under $prefix"
for f in LumenConfigVersion.cmake LumenTargets.cmake LumenPlugin.cmake LumenWarnings.cmake; do
  [[ -f $(dirname "$config")/$f ]] || fail "$f not installed beside $config"
done

# The installed host must use the installed core (RPATH $ORIGIN/../lib), not the build tree's.
core_used=$(env -u LD_LIBRARY_PATH ldd "$lumen" | awk '/liblumen-core/ {print $3}')
[[ $core_used == "$prefix"/* ]] || fail "installed lumen loads liblumen-core from '$core_used', not from $prefix"
env -u LD_LIBRARY_PATH "$lumen" --version >/dev/null || fail "installed lumen --version failed"

# 2. Build the template out of tree, with the compiler the core was built with (the host
# refuses plugins whose compiler fingerprint differs).
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
logged "$tmp/configure.log" cmake -S "$template_src" -B "$template_build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release ${compiler:+-DCMAKE_CXX_COMPILER="$compiler"}
lumen_dir=$(sed -n 's/^Lumen_DIR:[A-Z]*=//p' "$template_build/CMakeCache.txt")
[[ $lumen_dir == "$prefix"/* ]] || fail "the template found Lumen at '$lumen_dir', not in $prefix"
logged "$tmp/build.log" cmake --build "$template_build" -j 2

so=$template_build/lumen-template.so
manifest=$template_build/lumen-template.json
[[ -f $so ]] || fail "no $so after the build"
[[ -s $manifest ]] || fail "manifest lumen-template.json was not written beside lumen-template.so"
grep -q '"template.invert"' "$manifest" || fail "manifest does not list template.invert: $(cat "$manifest")"
if command -v python3 >/dev/null; then
  python3 - "$manifest" <<'PY' || fail "manifest content is wrong: $(cat "$manifest")"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["set"] == "template", m["set"]
assert m["file"] == "lumen-template.so", m["file"]
(stage,) = m["stages"]
assert stage["name"] == "template.invert" and stage["kind"] == "transform" and stage["concurrent"] is True
(param,) = stage["params"]
assert param["name"] == "enabled" and param["type"] == "boolean" and param["default"] is True
PY
fi

# 3. The installed host describes and runs the plugin.
echo "+ $lumen check-plugin $so"
env -u LD_LIBRARY_PATH "$lumen" check-plugin "$so" >"$tmp/check.log" 2>&1 || { cat "$tmp/check.log" >&2; fail "check-plugin refused the template"; }
echo "+ $lumen inspect template.invert --plugin-path $template_build"
inspect=$(env -u LD_LIBRARY_PATH "$lumen" inspect template.invert --plugin-path "$template_build" 2>&1) ||
  { echo "$inspect" >&2; fail "lumen inspect template.invert failed"; }
grep -q 'template.invert' <<<"$inspect" || fail "lumen inspect does not name the stage: $inspect"
grep -q 'enabled' <<<"$inspect" || fail "lumen inspect does not show the parameter 'enabled': $inspect"

run_pipeline() { # RUN_DIR [lumen run options...]
  local run_dir=$1
  shift
  echo "+ $lumen run $template_src/pipeline.yaml --plugin-path $template_build --run-dir $run_dir $*"
  local status=0
  env -u LD_LIBRARY_PATH "$lumen" run "$template_src/pipeline.yaml" --plugin-path "$template_build" \
    --run-dir "$run_dir" --no-progress --threads 2 "$@" >"$run_dir.log" 2>&1 || status=$?
  if [[ $status -ne 0 ]]; then
    cat "$run_dir.log" >&2
    fail "lumen run exited with $status (expected 0)"
  fi
  local pngs
  pngs=$(find "$run_dir/outputs" -name '*.png' | wc -l)
  [[ $pngs -eq 3 ]] || fail "expected 3 PNG files in $run_dir/outputs, found $pngs"
  [[ -s $run_dir/logs/run_events.jsonl ]] || fail "no $run_dir/logs/run_events.jsonl"
}
run_pipeline "$tmp/run"
# Inversion must change the output: the same run with the stage disabled differs.
run_pipeline "$tmp/run-off" --set invert.enabled=false
on=$(cd "$tmp/run/outputs" && find . -name '*.png' | sort | xargs cat | md5sum)
off=$(cd "$tmp/run-off/outputs" && find . -name '*.png' | sort | xargs cat | md5sum)
[[ $on != "$off" ]] || fail "template.invert with enabled=true wrote the same files as with enabled=false"

# 4. Installing the plugin into the host's prefix makes it visible without --plugin-path.
logged "$tmp/install-template.log" cmake --install "$template_build" --prefix "$prefix"
plugin_dir=$(dirname "$(find "$prefix" -path '*/lumen/plugins/lumen-template.so' | head -n 1)")
[[ -f $plugin_dir/lumen-template.json ]] || fail "cmake --install did not put lumen-template.so and .json into <prefix>/lib/lumen/plugins"
echo "+ $lumen inspect template.invert"
env -u LD_LIBRARY_PATH "$lumen" inspect template.invert >/dev/null 2>&1 ||
  fail "the installed host does not find the template installed in its own prefix"

echo "PASS: installed SDK builds and runs examples/plugin-template"
