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
  # shellcheck disable=SC2086
  exec "$java" ${FERRY_JAVA_OPTS:-} -jar "$jar" "$@"
}
