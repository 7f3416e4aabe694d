package dev.ferry.agent.config;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutResolver;
import dev.ferry.agent.layout.UnitNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The agent's settings, validated.
 *
 * @param listenHost the address to bind; a tailnet address in production
 * @param listenPort the TCP port
 * @param stateDir identity, trusted controllers and the pending pairing code
 * @param pairingCodeTtl how long a code from {@code ferry-agent init} stays valid
 * @param pgBindir where pg_dump, pg_restore and psql live; empty means "find them"
 * @param unitsAllow the unit patterns the agent may act on
 */
public record AgentConfig(
    String listenHost,
    int listenPort,
    Path stateDir,
    Duration pairingCodeTtl,
    Layout layout,
    Optional<Path> pgBindir,
    List<String> unitsAllow) {

  public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/ferry");
  public static final int DEFAULT_PORT = 7443;

  public static AgentConfig load(Path file) throws ConfigException {
    return from(ConfigFile.read(file), new LayoutResolver(Path.of("/")));
  }

  public static AgentConfig from(Map<ConfigKey, String> config, LayoutResolver resolver)
      throws ConfigException {
    String listen = config.get(ConfigKey.LISTEN);
    if (listen == null || listen.isBlank()) {
      throw new ConfigException("missing key 'listen' (for example: listen = 100.64.0.1:7443)");
    }
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) {
      throw new ConfigException("bad value for 'listen': '" + listen + "' (use HOST:PORT)");
    }
    String host = listen.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    // Port 0 lets the OS pick one: only useful for tests and the local demo.
    String portText = listen.substring(colon + 1);
    int port =
        portText.equals("0")
            ? 0
            : LayoutResolver.port(Map.of(ConfigKey.LISTEN, portText), ConfigKey.LISTEN, DEFAULT_PORT);
    Path stateDir = pathOrDefault(config, ConfigKey.STATE_DIR, DEFAULT_STATE_DIR);
    Duration ttl = duration(config.getOrDefault(ConfigKey.PAIRING_CODE_TTL, "30m"));
    Layout layout = resolver.resolve(config);
    Optional<Path> pgBindir =
        config.containsKey(ConfigKey.PG_BINDIR)
            ? Optional.of(pathOrDefault(config, ConfigKey.PG_BINDIR, null))
            : Optional.empty();
    List<String> allow = new ArrayList<>();
    if (config.containsKey(ConfigKey.UNITS_ALLOW)) {
      for (String pattern : config.get(ConfigKey.UNITS_ALLOW).split(",")) {
        String p = pattern.strip();
        String checked = p.endsWith("*") ? p.substring(0, p.length() - 1) : p;
        if (p.isEmpty() || p.equals("*") || !UnitNames.isValid(checked)) {
          throw new ConfigException(
              "bad value for 'units.allow': '" + p + "' (a unit name, optionally ending in *; '*' alone is refused)");
        }
        allow.add(p);
      }
    } else {
      allow.add("mastodon-*");
      allow.add(layout.redisUnit());
    }
    return new AgentConfig(host, port, stateDir, ttl, layout, pgBindir, List.copyOf(allow));
  }

  private static Path pathOrDefault(Map<ConfigKey, String> config, ConfigKey key, Path fallback)
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

  static Duration duration(String value) throws ConfigException {
    var m = java.util.regex.Pattern.compile("(\\d{1,6})([smh])").matcher(value);
    if (!m.matches()) {
      throw new ConfigException(
          "bad value for 'pairing_code_ttl': '" + value + "' (use a number with s, m or h, like 30m)");
    }
    long n = Long.parseLong(m.group(1));
    Duration d =
        switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
    if (d.isZero() || d.compareTo(Duration.ofHours(24)) > 0) {
      throw new ConfigException("bad value for 'pairing_code_ttl': '" + value + "' (between 1s and 24h)");
    }
    return d;
  }
}
