package dev.ferry.agent.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the agent's config: one {@code key = value} per line, {@code #} starts a comment, blank
 * lines are ignored. A small, strict format on purpose: it is easy to write by hand and to render
 * from a NixOS module, and every mistake is reported with its line.
 */
public final class ConfigFile {
  private ConfigFile() {}

  public static Map<ConfigKey, String> read(Path file) throws ConfigException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read config " + file + ": " + e.getMessage());
    }
    return parse(file.toString(), lines);
  }

  public static Map<ConfigKey, String> parse(String source, List<String> lines)
      throws ConfigException {
    Map<ConfigKey, String> values = new EnumMap<>(ConfigKey.class);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = source + ":" + (i + 1);
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(where + ": expected 'key = value', got '" + line + "'");
      }
      String name = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      ConfigKey key =
          ConfigKey.of(name)
              .orElseThrow(() -> new ConfigException(where + ": unknown key '" + name + "'"));
      if (values.containsKey(key)) {
        throw new ConfigException(where + ": key '" + name + "' is set twice");
      }
      values.put(key, value);
    }
    return values;
  }
}
