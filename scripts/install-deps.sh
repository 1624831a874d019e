#!/usr/bin/env bash
# Debian packages splitbrain needs on the host (a Debian bookworm machine with a running
# Docker engine), installed only if missing; safe to run again. Must run as root.
#
#   mmdebstrap              builds the node image's root filesystem from deb.debian.org
#   debian-archive-keyring  with the trixie keys (bookworm's 2023.3+deb12u1 and later have
#                           them) so mmdebstrap can verify the trixie archive
#
# mmdebstrap runs in its "root" mode (we are root), so uidmap/user namespaces are not needed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: run as root (apt-get and mmdebstrap need it)" >&2
  exit 1
fi

missing=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have mmdebstrap || missing+=(mmdebstrap)
if [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
  missing+=(debian-archive-keyring)   # an older keyring: install the current one
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: Debian packages already present (mmdebstrap, trixie keyring)"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# with its recommends (gpg, arch-test, ...): the configuration the image build is tested with
apt-get install -y -q "${missing[@]}"

if ! have mmdebstrap || [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
  echo "install-deps: error: mmdebstrap or the trixie archive keyring is still missing" >&2
  exit 1
fi
echo "install-deps: done"
