# settings for an IPv6 tailnet address, another port, layout overrides and free settings:
#   services.ferry-agent = {
#     enable = true; listenAddress = "fd7a:115c:a1e0::2"; port = 7444;
#     mediaRoot = "/srv/mastodon/public-system"; unitsAllow = [ "mastodon-*" "redis-mastodon" ];
#     database.superuser = "pgadmin";
#     settings = { pairing_code_ttl = "10m"; "pg.bindir" = "/run/current-system/sw/bin"; tootctl = null; };
#   };
# (a null value is left out of the file).
{
  listen = "[fd7a:115c:a1e0::2]:7444";
  state_dir = "/var/lib/ferry";
  layout = "nixos";
  "media.root" = "/srv/mastodon/public-system";
  "units.allow" = [ "mastodon-*" "redis-mastodon" ];
  "db.superuser" = "pgadmin";
  pairing_code_ttl = "10m";
  "pg.bindir" = "/run/current-system/sw/bin";
  "tootctl" = null;
}
