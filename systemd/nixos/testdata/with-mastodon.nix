# What services.ferry-agent puts in `settings` next to the README's services.mastodon example
# (streamingProcesses = 3, default sidekiqProcesses { all = ...; }, local PostgreSQL and Redis,
# enableUnixSocket left at true) with
#   services.ferry-agent = { enable = true; listenAddress = "100.64.0.2"; openFirewall = true; };
{
  listen = "100.64.0.2:7443";
  state_dir = "/var/lib/ferry";
  layout = "nixos";
  "mastodon.user" = "mastodon";
  "mastodon.group" = "mastodon";
  "mastodon.local_domain" = "social.example.org";
  "db.name" = "mastodon";
  "db.host" = "/run/postgresql";
  units = [
    "mastodon-init-dirs"
    "mastodon-web"
    "mastodon-sidekiq-all"
    "mastodon-streaming-1"
    "mastodon-streaming-2"
    "mastodon-streaming-3"
  ];
  "web.url" = "unix:/run/mastodon-web/web.socket";
}
