package dev.ferry.agent.layout;

import dev.ferry.agent.config.ConfigException;
import dev.ferry.agent.config.ConfigKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Detects the layout (or takes the configured one) and applies the config's overrides. */
public final class LayoutResolver {
  private final Path fsRoot;

  /** @param fsRoot where to look for an install: "/" in production, a temp dir in tests */
  public LayoutResolver(Path fsRoot) {
    this.fsRoot = fsRoot;
  }

  public LayoutKind detect() {
    if (Files.exists(fsRoot.resolve("etc/NIXOS")) || Files.isDirectory(fsRoot.resolve("var/lib/mastodon"))) {
      return LayoutKind.NIXOS;
    }
    if (Files.isDirectory(fsRoot.resolve("home/mastodon/live"))) {
      return LayoutKind.UBUNTU;
    }
    return LayoutKind.NONE;
  }

  public Layout resolve(Map<ConfigKey, String> config) throws ConfigException {
    String configured = config.getOrDefault(ConfigKey.LAYOUT, "auto");
    LayoutKind kind =
        switch (configured) {
          case "auto" -> detect();
          case "ubuntu" -> LayoutKind.UBUNTU;
          case "nixos" -> LayoutKind.NIXOS;
          case "none" -> LayoutKind.NONE;
          default -> throw new ConfigException(
              "bad value for 'layout': '" + configured + "' (use auto, ubuntu, nixos or none)");
        };
    Layout defaults = defaults(kind);
    Path root = path(config, ConfigKey.MASTODON_ROOT, defaults.mastodonRoot());
    // A moved root moves the paths below it, unless they are set themselves.
    boolean rootMoved = config.containsKey(ConfigKey.MASTODON_ROOT);
    Path media =
        path(config, ConfigKey.MEDIA_ROOT,
            rootMoved ? root.resolve(defaults.mastodonRoot().relativize(defaults.mediaRoot())) : defaults.mediaRoot());
    Optional<Path> env =
        optionalPath(config, ConfigKey.MASTODON_ENV_FILE,
            defaults.envFile().map(p -> rootMoved ? root.resolve(defaults.mastodonRoot().relativize(p)) : p));
    Optional<Path> secrets =
        optionalPath(config, ConfigKey.SECRETS_DIR,
            defaults.secretsDir().map(p -> rootMoved ? root.resolve(defaults.mastodonRoot().relativize(p)) : p));
    String user = name(config, ConfigKey.MASTODON_USER, defaults.user());
    DatabaseSettings db = defaults.database();
    DatabaseSettings database =
        new DatabaseSettings(
            name(config, ConfigKey.DB_NAME, db.name()),
            name(config, ConfigKey.DB_ROLE, config.containsKey(ConfigKey.MASTODON_USER) ? user : db.role()),
            path(config, ConfigKey.DB_HOST, db.socketDir()),
            port(config, ConfigKey.DB_PORT, db.port()),
            name(config, ConfigKey.DB_SUPERUSER, db.superuser()));
    List<String> units = list(config, ConfigKey.UNITS, defaults.units());
    for (String unit : units) {
      UnitNames.requireValid(unit, ConfigKey.UNITS.key());
    }
    String redisUnit = name(config, ConfigKey.REDIS_UNIT, defaults.redisUnit());
    UnitNames.requireValid(redisUnit, ConfigKey.REDIS_UNIT.key());
    List<String> tootctl =
        config.containsKey(ConfigKey.TOOTCTL)
            ? Arrays.asList(config.get(ConfigKey.TOOTCTL).trim().split("\\s+"))
            : rootMoved && kind == LayoutKind.UBUNTU ? List.of(root.resolve("bin/tootctl").toString()) : defaults.tootctl();
    return new Layout(
        kind,
        root,
        media,
        env,
        secrets,
        user,
        name(config, ConfigKey.MASTODON_GROUP, defaults.group()),
        database,
        units,
        redisUnit,
        path(config, ConfigKey.REDIS_DUMP, defaults.redisDump()),
        name(config, ConfigKey.REDIS_USER, defaults.redisUser()),
        tootctl,
        webUrl(config, defaults.webUrl()));
  }

  /** The layouts' documented defaults (research/domain.md sections 2 and 3). */
  public static Layout defaults(LayoutKind kind) {
    return switch (kind) {
      case UBUNTU -> new Layout(
          kind,
          Path.of("/home/mastodon/live"),
          Path.of("/home/mastodon/live/public/system"),
          Optional.of(Path.of("/home/mastodon/live/.env.production")),
          Optional.empty(),
          "mastodon",
          "mastodon",
          new DatabaseSettings("mastodon_production", "mastodon", Path.of("/var/run/postgresql"), 5432, "postgres"),
          List.of("mastodon-web", "mastodon-sidekiq", "mastodon-streaming"),
          "redis-server",
          Path.of("/var/lib/redis/dump.rdb"),
          "redis",
          List.of("/home/mastodon/live/bin/tootctl"),
          "http://127.0.0.1:3000");
      case NIXOS -> new Layout(
          kind,
          Path.of("/var/lib/mastodon"),
          Path.of("/var/lib/mastodon/public-system"),
          Optional.empty(),
          Optional.of(Path.of("/var/lib/mastodon/secrets")),
          "mastodon",
          "mastodon",
          new DatabaseSettings("mastodon", "mastodon", Path.of("/run/postgresql"), 5432, "postgres"),
          List.of("mastodon-init-dirs", "mastodon-web", "mastodon-sidekiq-all", "mastodon-streaming-1"),
          "redis-mastodon",
          Path.of("/var/lib/redis-mastodon/dump.rdb"),
          "redis-mastodon",
          List.of("mastodon-tootctl"),
          "unix:/run/mastodon-web/web.socket");
      case NONE -> new Layout(
          kind,
          Path.of("/nonexistent/mastodon"),
          Path.of("/nonexistent/mastodon/public/system"),
          Optional.empty(),
          Optional.empty(),
          "mastodon",
          "mastodon",
          new DatabaseSettings("mastodon", "mastodon", Path.of("/var/run/postgresql"), 5432, "postgres"),
          List.of(),
          "redis-server",
          Path.of("/var/lib/redis/dump.rdb"),
          "redis",
          List.of("tootctl"),
          "http://127.0.0.1:3000");
    };
  }

  public static Path path(Map<ConfigKey, String> config, ConfigKey key, Path fallback)
      throws ConfigException {
    String value = config.get(key);
    if (value == null) {
      return fallback;
    }
    if (!value.startsWith("/")) {
      throw new ConfigException("bad value for '" + key.key() + "': '" + value + "' is not an absolute path");
    }
    return Path.of(value).normalize();
  }

  private static Optional<Path> optionalPath(
      Map<ConfigKey, String> config, ConfigKey key, Optional<Path> fallback) throws ConfigException {
    if (config.containsKey(key) && config.get(key).isEmpty()) {
      return Optional.empty();
    }
    return config.containsKey(key) ? Optional.of(path(config, key, null)) : fallback;
  }

  private static String name(Map<ConfigKey, String> config, ConfigKey key, String fallback)
      throws ConfigException {
    String value = config.getOrDefault(key, fallback);
    // Names end up in argv of pg tools and runuser: keep them to what Unix and PostgreSQL accept.
    if (!value.matches("[A-Za-z_][A-Za-z0-9_.@-]{0,62}")) {
      throw new ConfigException("bad value for '" + key.key() + "': '" + value + "' is not a valid name");
    }
    return value;
  }

  public static int port(Map<ConfigKey, String> config, ConfigKey key, int fallback)
      throws ConfigException {
    String value = config.get(key);
    if (value == null) {
      return fallback;
    }
    try {
      int port = Integer.parseInt(value);
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new ConfigException("bad value for '" + key.key() + "': '" + value + "' is not a port (1-65535)");
    }
  }

  static List<String> list(Map<ConfigKey, String> config, ConfigKey key, List<String> fallback) {
    String value = config.get(key);
    if (value == null) {
      return fallback;
    }
    return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  private static String webUrl(Map<ConfigKey, String> config, String fallback)
      throws ConfigException {
    String value = config.getOrDefault(ConfigKey.WEB_URL, fallback);
    if (!value.matches("(http://[A-Za-z0-9.\\[\\]:-]+|unix:/\\S+)")) {
      throw new ConfigException(
          "bad value for 'web.url': '" + value + "' (use http://HOST:PORT or unix:/path/to/socket)");
    }
    return value;
  }
}
