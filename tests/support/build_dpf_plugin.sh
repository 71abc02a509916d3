#!/usr/bin/env bash
# Build the "atomsynth test gain" VST3 (tests/support/dpf_gain) with Debian's
# dpf-source, headless (no UI), into OUTDIR.
#
#   tests/support/build_dpf_plugin.sh OUTDIR [crash]
#
# With "crash": the crash-on-demand variant atomsynth-test-crash.vst3, which
# calls abort() when its Gain parameter is set above 6 dB (plugin-crash tests).
#
# Prints the absolute path of OUTDIR/atomsynth-test-gain.vst3 as the last line
# of stdout (build logs go to stderr). Skips the build when the bundle's .so
# is newer than every source file. Safe to run concurrently (flock on OUTDIR).
#
# Needs: apt-get install dpf-source g++ make   (util-linux for flock)
# Env:   DPF_PATH (default /usr/share/dpf), JOBS (default: nproc)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ( $# -eq 2 && "$2" != crash ) ]]; then
    echo "usage: $0 OUTDIR [crash]" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/dpf_gain"
name="atomsynth-test-gain"
variant=()
if [[ "${2:-}" == crash ]]; then
    name="atomsynth-test-crash"
    variant=(CRASH_ABOVE_DB=6)
fi
dpf="${DPF_PATH:-/usr/share/dpf}"

mkdir -p "$1"
out="$(cd "$1" && pwd)"
bundle="$out/$name.vst3"
arch="$(uname -m)"
so="$bundle/Contents/$arch-linux/$name.so"

for tool in make g++; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install g++ make)" >&2; exit 1; }
done
if [[ ! -f "$dpf/Makefile.plugins.mk" || ! -f "$dpf/distrho/DistrhoPluginMain.cpp" ]]; then
    echo "$0: DPF not found in $dpf (apt-get install dpf-source, or set DPF_PATH)" >&2
    exit 1
fi

up_to_date() {
    [[ -f "$so" ]] || return 1
    # any source (or this script) newer than the built library?
    [[ -z "$(find "$src" "${BASH_SOURCE[0]}" -type f -newer "$so" -print -quit)" ]]
}

exec 9>"$out/.$name.lock"
flock 9

if up_to_date; then
    echo "$0: $bundle is up to date" >&2
    echo "$bundle"
    exit 0
fi

build="$out/.$name.build"
stage="$out/.$name.stage"
rm -rf "$build" "$stage"
mkdir -p "$build" "$stage"

start=$SECONDS
make -C "$src" -j"${JOBS:-$(nproc)}" \
    DPF_PATH="$dpf" DPF_TARGET_DIR="$stage" DPF_BUILD_DIR="$build" "${variant[@]}" \
    vst3 >&2

built="$stage/$name.vst3/Contents/$arch-linux/$name.so"
[[ -f "$built" ]] || { echo "$0: build produced no $built" >&2; exit 1; }

# swap the finished bundle in, so a half-built bundle is never visible
rm -rf "$bundle"
mv "$stage/$name.vst3" "$bundle"
touch "$so"
rm -rf "$build" "$stage"
echo "$0: built $bundle in $((SECONDS - start))s" >&2
echo "$bundle"
