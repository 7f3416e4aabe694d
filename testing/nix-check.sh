#!/usr/bin/env bash
# Checks the Nix files as far as this machine can without nixpkgs (bin/test runs it when
# nix-instantiate is installed; Debian: apt-get install nix-bin):
#   1. every .nix file of the repository parses (nix-instantiate --parse);
#   2. the module's renderer (systemd/nixos/render.nix), evaluated by Nix itself, turns each
#      systemd/nixos/testdata/NAME.nix into exactly testdata/NAME.conf. The Java test
#      NixosRenderingTest then feeds those .conf files to the agent's own config parser.
# Not checked here: evaluating the module against nixpkgs (option types, merging, the
# services.mastodon defaults) and building the flake; those need nixpkgs and the network.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
command -v nix-instantiate >/dev/null || { echo "nix-check: nix-instantiate missing (apt-get install nix-bin)" >&2; exit 1; }
# The store is not used (no derivations are instantiated); keep Nix quiet about build users.
export NIX_CONFIG="build-users-group ="

status=0
count=0
while IFS= read -r -d '' file; do
  count=$((count + 1))
  if ! out=$(nix-instantiate --parse "$file" 2>&1 >/dev/null); then
    echo "nix-check: $file does not parse: $out" >&2
    status=1
  fi
done < <(find . -name '*.nix' -not -path '*/target/*' -not -path './.git/*' -print0)
echo "nix-check: $count .nix files parse"

for input in systemd/nixos/testdata/*.nix; do
  expected=${input%.nix}.conf
  rendered=$(nix-instantiate --eval --strict --json \
      -E "(import ./systemd/nixos/render.nix).renderSettings (import ./$input)" |
    python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin))')
  if [[ "$rendered" != "$(cat "$expected")" ]]; then
    echo "nix-check: rendering $input differs from $expected:" >&2
    diff <(printf '%s\n' "$rendered") "$expected" >&2 || true
    status=1
  else
    echo "nix-check: $input renders to $expected"
  fi
done
exit $status
