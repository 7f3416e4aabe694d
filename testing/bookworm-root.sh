#!/usr/bin/env bash
# Prints the path of a cached Debian bookworm root for systemd-nspawn tests, building it once.
#
# The root lives OUTSIDE the repository (default /var/cache/ferry-test/bookworm-v1) so every
# test JVM, worktree and CI job of a run reuses it. It is built into a temporary directory and
# renamed into place only when complete, under a lock, so parallel callers never see (or race
# on) a half-built root. Containers boot it with `systemd-nspawn -x`, i.e. on a throwaway
# copy, so the cached root itself is never modified by a test.
#
# Environment: FERRY_TEST_CACHE (cache directory), FERRY_DEBIAN_MIRROR (apt mirror).
set -euo pipefail

cache=${FERRY_TEST_CACHE:-/var/cache/ferry-test}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Bump the version whenever the package list or the preparation below changes.
version=bookworm-v1
packages=systemd,systemd-sysv,dbus,postgresql,iproute2,sudo,redis-server,openjdk-17-jre-headless,procps,ca-certificates
root=$cache/$version

[[ $(id -u) -eq 0 ]] || { echo "bookworm-root: must run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "bookworm-root: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/$version.lock"
# Another process may be building it right now: wait for it (bounded) instead of racing.
flock -w 1200 9 || { echo "bookworm-root: timed out waiting for the build lock" >&2; exit 1; }

if [[ ! -f $root/.ferry-complete ]]; then
  tmp=$(mktemp -d "$cache/.$version.build.XXXXXX")
  trap 'rm -rf --one-file-system "$tmp"' EXIT
  echo "bookworm-root: building $root (debootstrap, about a minute)" >&2
  if ! timeout 1200 debootstrap --variant=minbase --include="$packages" bookworm "$tmp" "$mirror" \
      >"$tmp.log" 2>&1; then
    tail -30 "$tmp.log" >&2
    rm -f "$tmp.log"
    exit 1
  fi
  rm -f "$tmp.log"
  # Containers get their own machine id on boot; an empty file makes systemd create one.
  : >"$tmp/etc/machine-id"
  echo ferry-test >"$tmp/etc/hostname"
  # Nothing in the container needs the network time, udev settles or a getty on a console.
  chroot "$tmp" systemctl mask systemd-timesyncd.service console-getty.service \
    getty@tty1.service systemd-udev-settle.service >/dev/null 2>&1 || true
  chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
  touch "$tmp/.ferry-complete"
  rm -rf --one-file-system "$root"  # only a stale, incomplete attempt can be here
  mv -T "$tmp" "$root"
  trap - EXIT
fi
echo "$root"
