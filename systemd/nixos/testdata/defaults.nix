# What services.ferry-agent puts in `settings` for
#   services.ferry-agent = { enable = true; listenAddress = "100.64.0.2"; };
# on a host without services.mastodon (ferry-agent.nix, config section, first mkMerge part).
{
  listen = "100.64.0.2:7443";
  state_dir = "/var/lib/ferry";
  layout = "nixos";
}
