#!/usr/bin/env bash
# Installs the Debian packages the compatibility tests use (a real etcd 3.4 and etcdctl).
# Only as root and only when missing; elsewhere those tests skip with a reason.
set -u
if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: not root or no apt-get; tests needing a real etcd will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq etcd-server etcd-client >/dev/null \
  || echo "sysdeps: could not install etcd-server/etcd-client; those tests will skip" >&2
systemctl stop etcd >/dev/null 2>&1 || true
pkill -x etcd >/dev/null 2>&1 || true
exit 0
