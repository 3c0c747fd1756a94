#!/usr/bin/env bash
# Installs the Debian packages the tests use: a real etcd 3.4 and etcdctl (compatibility suites),
# Chromium and its driver (the dashboard's browser tests), libfaketime (clock faults) and FUSE 3
# (the power-cut file system). Only as root and only what is missing; elsewhere the tests that need
# them skip with a reason.
set -u
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: not root or no apt-get; tests needing ${need[*]} will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null \
  || echo "sysdeps: could not install ${need[*]}; the tests needing them will skip" >&2
# The etcd-server package starts a system etcd on 2379: the tests start their own.
systemctl stop etcd >/dev/null 2>&1 || true
pkill -x etcd >/dev/null 2>&1 || true
exit 0
