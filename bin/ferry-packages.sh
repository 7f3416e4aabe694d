#!/usr/bin/env bash
# Installs missing Debian packages, shared by bin/test and the launchers (source it, then call
# ferry_need_packages WHO PACKAGE...). Needs root and apt; otherwise it names what is missing.
ferry_need_packages() {
  local who="$1"; shift
  (($#)) || return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "$who: missing $*; install them (or run as root on Debian/Ubuntu to have them installed)" >&2
    exit 1
  fi
  echo "$who: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ferry_have_postgres_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
