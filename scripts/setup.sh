#!/usr/bin/env bash
# Install everything atomsynth needs on a fresh Debian/Ubuntu machine, then the project itself.
#
#   bash scripts/setup.sh          # run-time: system audio libraries + atomsynth with all extras
#   bash scripts/setup.sh --dev    # also what the tests need: JACK, the DPF plugin framework, Ray,
#                                  # a C++ toolchain, opus-tools, pytest and friends, and
#                                  # MkDocs (Material) for the documentation site
#
# ATOMSYNTH_TORCH=cpu installs the CPU build of torch (CI); otherwise pip picks the normal
# torch for the machine (CUDA where available).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

apt_packages=(libportaudio2 libsndfile1 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0
              libxcb-cursor0  # Qt 6.5+ xcb platform plugin: without it the app does not start
              libfontconfig1 libdbus-1-3 libglib2.0-0)
if [ "$dev" = 1 ]; then
  apt_packages+=(jackd2 libjack-jackd2-0 dpf-source g++ make opus-tools xvfb)
fi

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup.sh: not root and no sudo; install these Debian packages yourself:" >&2
      echo "  ${apt_packages[*]}" >&2
      SUDO="skip"
    fi
  fi
  if [ "$SUDO" != skip ]; then
    missing=()
    for p in "${apt_packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      echo "setup.sh: installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      $SUDO apt-get update -qq
      $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
else
  echo "setup.sh: no apt-get; install PortAudio and libsndfile (and for tests JACK, DPF, opus-tools) yourself" >&2
fi

PY=${PYTHON:-python3}
if [ "${ATOMSYNTH_TORCH:-}" = cpu ]; then
  $PY -m pip install -q "torch==2.13.0"
fi
extras="all"
[ "$dev" = 1 ] && extras="all,dev,docs,cluster"  # cluster: Ray, for the fit-batch --ray test
$PY -m pip install -q -e ".[${extras}]"
echo "setup.sh: done ($($PY -c 'import atomsynth; print("atomsynth", atomsynth.__version__)'))"
