#!/usr/bin/env bash
# Debian packages splitbrain needs on the host (a Debian bookworm machine with a running
# Docker engine), installed only if missing; safe to run again. Must run as root.
#
#   mmdebstrap              builds the node image's root filesystem from deb.debian.org
#   debian-archive-keyring  with the trixie keys (bookworm's 2023.3+deb12u1 and later have
#                           them) so mmdebstrap can verify the trixie archive
#   chromium, chromium-driver, fonts-dejavu-core  (only with --browser: scripts/test.sh)
#                           headless browser for tests/browser (report, store browser and
#                           campaign pages, driven by selenium) and bench/report_load.py
#
# mmdebstrap runs in its "root" mode (we are root), so uidmap/user namespaces are not needed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: run as root (apt-get and mmdebstrap need it)" >&2
  exit 1
fi

with_browser=0
[ "${1:-}" = "--browser" ] && with_browser=1

missing=()
browser=()   # installed without recommends: chromium recommends desktop services we do not need
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have mmdebstrap || missing+=(mmdebstrap)
if [ $with_browser -eq 1 ]; then
  for pkg in chromium chromium-driver fonts-dejavu-core; do
    have "$pkg" || browser+=("$pkg")
  done
fi
if [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
  missing+=(debian-archive-keyring)   # an older keyring: install the current one
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ]; then
  echo "install-deps: Debian packages already present (mmdebstrap, trixie keyring$([ $with_browser -eq 1 ] && echo ", chromium"))"
  exit 0
fi

echo "install-deps: installing ${missing[*]} ${browser[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
  # with its recommends (gpg, arch-test, ...): the configuration the image build is tested with
  apt-get install -y -q "${missing[@]}"
fi
if [ ${#browser[@]} -gt 0 ]; then
  apt-get install -y -q --no-install-recommends "${browser[@]}"
fi

if ! have mmdebstrap || [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
  echo "install-deps: error: mmdebstrap or the trixie archive keyring is still missing" >&2
  exit 1
fi
if [ $with_browser -eq 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  echo "install-deps: error: chromium or chromedriver is still missing" >&2
  exit 1
fi
echo "install-deps: done"
