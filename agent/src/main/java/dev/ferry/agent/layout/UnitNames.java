package dev.ferry.agent.layout;

import dev.ferry.agent.config.ConfigException;
import java.util.List;
import java.util.regex.Pattern;

/** systemd unit names and the allowlist patterns that admit them. */
public final class UnitNames {
  // The characters systemd allows in unit names; nothing a shell or systemctl option could abuse.
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9:_.@\\\\-]{0,250}");

  private UnitNames() {}

  public static boolean isValid(String unit) {
    return VALID.matcher(unit).matches();
  }

  static void requireValid(String unit, String key) throws ConfigException {
    if (!isValid(unit)) {
      throw new ConfigException("bad value for '" + key + "': '" + unit + "' is not a unit name");
    }
  }

  /** Drops a trailing ".service" so "mastodon-web" and "mastodon-web.service" are one unit. */
  public static String base(String unit) {
    return unit.endsWith(".service") ? unit.substring(0, unit.length() - ".service".length()) : unit;
  }

  /**
   * Whether {@code unit} matches one of {@code patterns}; a pattern may end in {@code *}, which
   * matches any valid rest of a name. Anything else is compared exactly.
   */
  public static boolean allowed(String unit, List<String> patterns) {
    if (!isValid(unit)) {
      return false;
    }
    String name = base(unit);
    for (String pattern : patterns) {
      String p = base(pattern);
      if (p.endsWith("*") ? name.startsWith(p.substring(0, p.length() - 1)) : name.equals(p)) {
        return true;
      }
    }
    return false;
  }
}
