# NixOS module for the ferry agent: `services.ferry-agent`.
#
# Renders `settings` to /etc/ferry/agent.conf (one `key = value` per line, the format of
# systemd/agent.conf.example) and runs `ferry-agent run` as a hardened systemd service with
# StateDirectory=ferry. When `services.mastodon` is enabled on the same host, the layout keys
# (database, units, web socket) are derived from it, so a default install needs only
#
#   services.ferry-agent = { enable = true; listenAddress = "100.x.y.z"; openFirewall = true; };
#
# The rendering scheme (`renderSettings` below) is mirrored by the fixtures in
# systemd/nixos/testdata/, which a Java test feeds to the agent's own config parser.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf mkDefault types;

  cfg = config.services.ferry-agent;
  mastodon = config.services.mastodon;

  settingValue = types.oneOf [ types.str types.int types.bool (types.listOf types.str) ];

  # key = value lines; the one scheme, shared with the test fixtures (render.nix).
  inherit (import ./render.nix) renderValue renderSettings;

  configFile = pkgs.writeText "ferry-agent.conf" (renderSettings cfg.settings);

  listenHost = if lib.hasInfix ":" cfg.listenAddress then "[${cfg.listenAddress}]" else cfg.listenAddress;

  nullOrStr = description: mkOption {
    type = types.nullOr types.str;
    default = null;
    inherit description;
  };

  # The units services.mastodon creates (nixpkgs mastodon.nix), in start order.
  mastodonUnits =
    [ "mastodon-init-dirs" "mastodon-web" ]
    ++ map (name: "mastodon-sidekiq-${name}") (lib.attrNames mastodon.sidekiqProcesses)
    ++ lib.genList (i: "mastodon-streaming-${toString (i + 1)}") mastodon.streamingProcesses;
in
{
  options.services.ferry-agent = {
    enable = mkEnableOption "the ferry agent, which lets a paired ferry controller migrate this host's Mastodon";

    package = mkOption {
      type = types.package;
      defaultText = lib.literalExpression "ferry from this repository's flake";
      description = "The ferry package (provides bin/ferry-agent). The flake's module sets it.";
    };

    listenAddress = mkOption {
      type = types.str;
      example = "100.64.0.2";
      description = ''
        Address the agent serves mutual TLS on: this host's tailnet address (`tailscale ip -4`),
        so it is reachable over the tailnet only. Required: the agent never guesses.
      '';
    };

    port = mkOption {
      type = types.port;
      default = 7443;
      description = "TCP port of the agent.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Open `port` on the `firewallInterface` (the tailscale interface) only; never on the
        public interfaces.
      '';
    };

    firewallInterface = mkOption {
      type = types.str;
      default = "tailscale0";
      description = "The interface `openFirewall` opens the port on.";
    };

    javaOptions = mkOption {
      type = types.listOf types.str;
      default = [ "-Xms56m" "-Xmx192m" "-Xmn40m" "-XX:SurvivorRatio=4" "-XX:MinHeapFreeRatio=40" "-XX:MaxHeapFreeRatio=70" "-XX:MaxDirectMemorySize=32m" "-XX:+UseSerialGC" "-XX:ReservedCodeCacheSize=48m" "-XX:FreqInlineSize=50" "-XX:InlineSmallCode=500" "-XX:MaxInlineLevel=5" "-XX:+ExitOnOutOfMemoryError" ];
      description = "JVM options: the heap and direct memory stay bounded whatever a peer sends.";
    };

    # ---- Layout overrides (null: the agent's NixOS defaults, or what services.mastodon says) ----
    layout = mkOption {
      type = types.enum [ "auto" "nixos" "ubuntu" "none" ];
      default = "nixos";
      description = "Layout of the Mastodon install (config key `layout`).";
    };
    mastodonRoot = nullOrStr "Mastodon's directory (`mastodon.root`; default /var/lib/mastodon).";
    user = nullOrStr "Mastodon's OS user (`mastodon.user`; default services.mastodon.user).";
    group = nullOrStr "Mastodon's OS group (`mastodon.group`; default services.mastodon.group).";
    mediaRoot = nullOrStr "Media root (`media.root`; default /var/lib/mastodon/public-system).";
    secretsDir = nullOrStr "Secret files (`secrets.dir`; default /var/lib/mastodon/secrets).";
    database = {
      name = nullOrStr "Database (`db.name`; default services.mastodon.database.name).";
      role = nullOrStr "Owning role (`db.role`; default the Mastodon user).";
      host = nullOrStr "Socket directory (`db.host`; default services.mastodon.database.host if a path).";
      superuser = nullOrStr "PostgreSQL superuser (`db.superuser`; default postgres).";
    };
    units = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = null;
      description = "Mastodon units in start order (`units`; default derived from services.mastodon).";
    };
    unitsAllow = mkOption {
      type = types.nullOr (types.listOf types.str);
      default = null;
      example = [ "mastodon-*" "redis-mastodon" ];
      description = "Units the agent may stop and start (`units.allow`; default mastodon-* and the Redis unit).";
    };
    redis = {
      unit = nullOrStr "Redis unit (`redis.unit`; default redis-mastodon).";
      dump = nullOrStr "Redis dump file (`redis.dump`; default /var/lib/redis-mastodon/dump.rdb).";
      user = nullOrStr "Redis OS user (`redis.user`; default redis-mastodon).";
    };
    webUrl = nullOrStr "Where the web service answers (`web.url`; default from services.mastodon.enableUnixSocket).";

    settings = mkOption {
      type = types.attrsOf (types.nullOr settingValue);
      default = { };
      example = { pairing_code_ttl = "10m"; "pg.bindir" = "/run/current-system/sw/bin"; };
      description = ''
        Agent config keys (see systemd/agent.conf.example), rendered to /etc/ferry/agent.conf as
        `key = value` lines; lists are joined with ", ". The options above set these keys with
        lower priority, so a value here wins. A null value leaves the key out.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = lib.all (v: !(lib.hasInfix "\n" (renderValue v)))
          (lib.attrValues (lib.filterAttrs (_: v: v != null) cfg.settings));
        message = "services.ferry-agent.settings: values must be on one line";
      }
    ];

    services.ferry-agent.settings = lib.mkMerge [
      {
        listen = mkDefault "${listenHost}:${toString cfg.port}";
        state_dir = mkDefault "/var/lib/ferry";
        layout = mkDefault cfg.layout;
      }
      (mkIf mastodon.enable {
        "mastodon.user" = mkDefault mastodon.user;
        "mastodon.group" = mkDefault mastodon.group;
        "db.name" = mkDefault mastodon.database.name;
        # A remote database (host name) is not reachable over a Unix socket: leave the key out.
        "db.host" = mkIf (lib.hasPrefix "/" mastodon.database.host) (mkDefault mastodon.database.host);
        units = mkDefault mastodonUnits;
        # The module passes LOCAL_DOMAIN to Mastodon through the unit environment, which the
        # agent cannot read; ferry's preflight compares it between hosts.
        "mastodon.local_domain" = mkDefault mastodon.localDomain;
        "web.url" = mkDefault (if mastodon.enableUnixSocket
          then "unix:/run/mastodon-web/web.socket"
          else "http://127.0.0.1:${toString mastodon.webPort}");
      })
      # Above the services.mastodon defaults (1000), below plain `settings` (100).
      (lib.mapAttrs (_: v: mkIf (v != null) (lib.mkOverride 900 v)) {
        "mastodon.root" = cfg.mastodonRoot;
        "mastodon.user" = cfg.user;
        "mastodon.group" = cfg.group;
        "media.root" = cfg.mediaRoot;
        "secrets.dir" = cfg.secretsDir;
        "db.name" = cfg.database.name;
        "db.role" = cfg.database.role;
        "db.host" = cfg.database.host;
        "db.superuser" = cfg.database.superuser;
        units = cfg.units;
        "units.allow" = cfg.unitsAllow;
        "redis.unit" = cfg.redis.unit;
        "redis.dump" = cfg.redis.dump;
        "redis.user" = cfg.redis.user;
        "web.url" = cfg.webUrl;
      })
    ];

    # `ferry-agent init` (default --config /etc/ferry/agent.conf) reads the same file.
    environment.etc."ferry/agent.conf".source = configFile;
    environment.systemPackages = [ cfg.package ];

    networking.firewall.interfaces = mkIf cfg.openFirewall {
      ${cfg.firewallInterface}.allowedTCPPorts = [ cfg.port ];
    };

    systemd.services.ferry-agent = {
      description = "ferry agent (Mastodon migration)";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" "tailscaled.service" ];
      # Restart when the rendered config changes.
      restartTriggers = [ configFile ];
      # systemctl, runuser, pg tools and mastodon-tootctl (which falls back to sudo from
      # /run/wrappers) are looked up on PATH; a NixOS service's default PATH has none of them.
      path = [ pkgs.util-linux config.systemd.package "/run/wrappers" "/run/current-system/sw" ]
        ++ lib.optional config.services.postgresql.enable config.services.postgresql.package;
      environment.FERRY_JAVA_OPTS = lib.concatStringsSep " " cfg.javaOptions;
      environment.MALLOC_ARENA_MAX = "2";
      serviceConfig = {
        # The same choices as systemd/ferry-agent.service; the comments there say why.
        Type = "exec";
        ExecStart = "${cfg.package}/bin/ferry-agent run --config /etc/ferry/agent.conf";
        Restart = "on-failure";
        RestartSec = "5s";
        RestartPreventExitStatus = 2;
        SuccessExitStatus = 143;
        TimeoutStopSec = "30s";
        StandardOutput = "journal";
        StandardError = "journal";
        SyslogIdentifier = "ferry-agent";
        StateDirectory = "ferry";
        StateDirectoryMode = "0700";
        UMask = "0077";
        User = "root";
        CapabilityBoundingSet = [
          "CAP_CHOWN" "CAP_FOWNER" "CAP_DAC_OVERRIDE" "CAP_DAC_READ_SEARCH" "CAP_SETUID" "CAP_SETGID"
          "CAP_AUDIT_WRITE" "CAP_SYS_RESOURCE" "CAP_KILL" "CAP_NET_BIND_SERVICE"
        ];
        ProtectSystem = "full";
        # Unlike on Ubuntu, nothing of a NixOS Mastodon lives in /home.
        ProtectHome = mkDefault true;
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "~@clock @cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap" ];
        SystemCallErrorNumber = "EPERM";
        # Left off on purpose (see systemd/ferry-agent.service): NoNewPrivileges (the sudo
        # wrapper mastodon-tootctl uses), MemoryDenyWriteExecute (the JVM's JIT), PrivateUsers
        # and DynamicUser (runuser, chown, unit control), MemoryMax (pg_restore and tootctl run
        # in this cgroup).
      };
    };
  };
}
