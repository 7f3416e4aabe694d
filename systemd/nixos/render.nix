# How services.ferry-agent renders `settings` into the agent's config file: `key = value`, one
# per line, keys in sorted order, lists joined with ", ", null values left out. Builtins only,
# so testing/nix-check.sh can evaluate it without nixpkgs and compare the output with the
# fixtures in testdata/ (which a Java test feeds to the agent's parser).
let
  renderValue = v:
    if builtins.isList v then builtins.concatStringsSep ", " v
    else if builtins.isBool v then (if v then "true" else "false")
    else toString v;
  present = settings: builtins.filter (k: settings.${k} != null) (builtins.attrNames settings);
in
{
  inherit renderValue;
  renderSettings = settings:
    builtins.concatStringsSep "" (map (k: "${k} = ${renderValue settings.${k}}\n") (present settings));
}
