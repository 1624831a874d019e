#!/bin/sh
# What every node runs under tini: its own sshd host key, sshd, a readiness marker, then
# nothing. sshd runs in the background on purpose: a nemesis that kills processes must not
# take the container (or the control path) down with it.
set -eu
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
fi
mkdir -p /run/sshd
# Without -D sshd returns once it listens, so the marker below means "sshd accepts".
/usr/sbin/sshd -E /var/log/splitbrain/sshd.log
touch /run/splitbrain-ready
exec sleep infinity
