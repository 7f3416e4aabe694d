#!/usr/bin/env bash
# Shared launcher logic for bin/ferry and bin/ferry-agent. Finds the shaded jar of a module:
# installed under ../share/ferry, or built in the source tree (building it first if needed).
set -euo pipefail

ferry_launch() {
  local module="$1" jarname="$2"; shift 2
  local here; here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[1]}")")" && pwd)"
  local jar=""
  if [[ -n "${FERRY_JAR_DIR:-}" && -f "$FERRY_JAR_DIR/$jarname.jar" ]]; then
    jar="$FERRY_JAR_DIR/$jarname.jar"
  elif [[ -f "$here/../share/ferry/$jarname.jar" ]]; then
    jar="$here/../share/ferry/$jarname.jar"
  else
    local root="$here/.."
    jar="$(ls "$root/$module"/target/"$jarname"-*-all.jar 2>/dev/null | head -n1 || true)"
    if [[ -z "$jar" ]]; then
      if [[ ! -f "$root/pom.xml" ]]; then
        echo "$jarname: cannot find $jarname.jar" >&2; exit 1
      fi
      source "$here/ferry-packages.sh"
      local build_pkgs=()
      command -v mvn >/dev/null || build_pkgs+=(maven)
      command -v javac >/dev/null || build_pkgs+=(openjdk-17-jdk-headless)
      ferry_need_packages "$jarname" "${build_pkgs[@]}"
      echo "$jarname: building ferry (first run only; needs Maven and JDK 17)..." >&2
      (cd "$root" && mvn -q -B -DskipTests package) >&2
      jar="$(ls "$root/$module"/target/"$jarname"-*-all.jar | head -n1)"
    fi
  fi
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  if [[ "$module" == controller && "${FERRY_CDS:-1}" != 0 ]]; then
    ferry_run_with_cds "$java" "$jar" "$@"
  fi
  # shellcheck disable=SC2086
  exec "$java" ${FERRY_JAVA_OPTS:-} -jar "$jar" "$@"
}

# The controller is a short-lived CLI, and loading its classes (gRPC, netty, TLS) is a good part
# of a quick command's wall time. A class-data-sharing archive of them, written by the first run
# and mapped by every later one, saves about 0.3 s per command (bench/media.sh's no-op sync).
# The archive is per jar and per JVM build, in the user's cache; anything unusual (no writable
# cache, FERRY_CDS=0) just runs without it. Returns only if it did not run java.
ferry_run_with_cds() {
  local java="$1" jar="$2"; shift 2
  local cache="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/ferry"
  local id
  id="$( { stat -c '%s %Y %i' "$jar" "$(readlink -f "$(command -v "$java")")"; } 2>/dev/null | cksum | cut -d' ' -f1)" || return 0
  # One archive per subcommand: each loads different classes (a sync needs gRPC and TLS, `hosts`
  # does not), and an archive only covers the classes of the run that wrote it.
  local command="${1:-none}"
  [[ "$command" =~ ^[a-z][a-z-]*$ ]] || command=other
  local archive="$cache/$(basename "$jar" .jar)-$command-$id.jsa"
  # A subcommand that has none yet maps `pair`'s, the first command on every host: it holds the
  # TLS, gRPC and netty classes that every command talking to an agent loads, and so saves a
  # first `media sync` or `migrate` nearly all that an archive of its own would (0.64 against
  # 0.66 s for a small sync, 1.1 s with none). Such a command then never writes its own.
  local mapped
  for mapped in "$archive" "$cache/$(basename "$jar" .jar)-pair-$id.jsa"; do
    if [[ -f "$mapped" ]]; then
      # shellcheck disable=SC2086
      exec "$java" -XX:SharedArchiveFile="$mapped" -Xlog:cds=off -Xlog:cds+dynamic=off ${FERRY_JAVA_OPTS:-} -jar "$jar" "$@"
    fi
  done
  mkdir -p "$cache" 2>/dev/null && [[ -w "$cache" ]] || return 0
  # First run: write the archive at exit under a temporary name, then move it into place, so a
  # concurrent run never maps a half-written file. Not exec'd, so the move can follow.
  local partial="$archive.$$.tmp" status=0
  # shellcheck disable=SC2086
  "$java" -XX:ArchiveClassesAtExit="$partial" -Xlog:cds=off -Xlog:cds+dynamic=off ${FERRY_JAVA_OPTS:-} -jar "$jar" "$@" || status=$?
  # Every other subcommand may map pair's archive, so keep it only from a pair that worked: one that
  # failed early may never have loaded TLS or gRPC.
  if [[ "$command" == pair && "$status" != 0 ]]; then
    rm -f "$partial"
  elif [[ -s "$partial" ]] && mv -f "$partial" "$archive" 2>/dev/null; then
    # An archive of another build (jar or JVM) for this subcommand is never mapped again: keep
    # one per subcommand, so upgrades do not pile them up in the cache.
    local old
    for old in "$cache"/ferry-controller*-"$command"-[0-9]*.jsa; do
      [[ "$old" == "$archive" ]] || rm -f "$old"
    done
  else
    rm -f "$partial"
  fi
  exit "$status"
}
