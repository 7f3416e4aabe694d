package dev.ferry.agent.settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a dotenv file such as Mastodon's {@code .env.production}: {@code KEY=value} lines, an
 * optional {@code export}, single or double quotes, {@code #} comments. Values may be secrets:
 * this class never logs or prints them.
 */
public final class EnvFile {
  private EnvFile() {}

  public static Map<String, String> read(Path file) throws IOException {
    return parse(Files.readAllLines(file));
  }

  public static Map<String, String> parse(List<String> lines) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("export ")) {
        line = line.substring("export ".length()).strip();
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        continue;
      }
      String key = line.substring(0, eq).strip();
      if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        continue;
      }
      values.put(key, unquote(line.substring(eq + 1).strip()));
    }
    return values;
  }

  private static String unquote(String value) {
    if (value.length() >= 2) {
      char first = value.charAt(0);
      if ((first == '"' || first == '\'') && value.charAt(value.length() - 1) == first) {
        String inner = value.substring(1, value.length() - 1);
        return first == '"' ? inner.replace("\\n", "\n").replace("\\\"", "\"") : inner;
      }
    }
    int comment = value.indexOf(" #");
    return comment >= 0 ? value.substring(0, comment).strip() : value;
  }
}
