package dev.ferry.agent.status;

import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.services.Systemctl;
import java.util.HashMap;
import java.util.Map;

/**
 * On NixOS the domain lives in the unit's Environment= (set by services.mastodon), not in a file
 * the agent can read, so it is taken from systemd. Only non-secret keys are kept.
 */
final class NixosSettings {
  private NixosSettings() {}

  static Map<String, String> fromUnitEnvironment(Systemctl systemctl, String unit) {
    Map<String, String> settings = new HashMap<>();
    try {
      systemctl.environment(unit).forEach((key, value) -> {
        if (key.equals("LOCAL_DOMAIN") || key.equals("WEB_DOMAIN")) {
          settings.put(key, value);
        }
      });
    } catch (CommandFailedException e) {
      // Unknown domain; status shows it empty.
    }
    return settings;
  }
}
