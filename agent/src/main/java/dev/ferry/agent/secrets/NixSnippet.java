package dev.ferry.agent.secrets;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders the non-secret settings of an env file as a {@code services.mastodon} Nix snippet for
 * the user to paste: ferry cannot edit a declarative config.
 */
public final class NixSnippet {
  // Set by the NixOS module from its own options, or meaningless there.
  private static final Set<String> MODULE_OWNED =
      Set.of("RAILS_ENV", "NODE_ENV", "DB_HOST", "DB_USER", "DB_NAME", "DB_PORT", "REDIS_HOST",
          "REDIS_PORT", "REDIS_URL", "REDIS_NAMESPACE", "BIND", "PORT", "RAILS_SERVE_STATIC_FILES",
          "RAILS_LOG_LEVEL", "PAPERCLIP_ROOT_PATH", "STREAMING_CLUSTER_NUM", "WEB_CONCURRENCY",
          "MAX_THREADS", "LOCAL_HTTPS");
  private static final List<String> CREDENTIAL_MARKERS = List.of("PASS", "SECRET", "KEY", "TOKEN", "SALT", "CREDENTIAL");

  private NixSnippet() {}

  static boolean isCredential(String key) {
    return !SecretNames.isSecret(key) && CREDENTIAL_MARKERS.stream().anyMatch(key::contains);
  }

  static boolean isPortableSetting(String key) {
    return !SecretNames.isSecret(key) && !isCredential(key) && !MODULE_OWNED.contains(key);
  }

  /**
   * @param settings non-secret settings (LOCAL_DOMAIN, WEB_DOMAIN, S3_*, SINGLE_USER_MODE...)
   * @param credentials names (never values) of credentials the user must carry in a file
   */
  public static String render(Map<String, String> settings, List<String> credentials) {
    StringBuilder nix = new StringBuilder("services.mastodon = {\n");
    String domain = settings.get("LOCAL_DOMAIN");
    if (domain != null) {
      nix.append("  localDomain = ").append(quote(domain)).append(";\n");
    }
    boolean extra = settings.keySet().stream().anyMatch(k -> !k.equals("LOCAL_DOMAIN"));
    if (extra) {
      nix.append("  extraConfig = {\n");
      settings.forEach((key, value) -> {
        if (!key.equals("LOCAL_DOMAIN")) {
          nix.append("    ").append(key).append(" = ").append(quote(value)).append(";\n");
        }
      });
      nix.append("  };\n");
    }
    if (!credentials.isEmpty()) {
      nix.append("  # Not copied by ferry; put these in a root-only file listed here:\n");
      nix.append("  # ").append(String.join(", ", credentials)).append("\n");
      nix.append("  # extraEnvFiles = [ \"/var/lib/mastodon/extra.env\" ];\n");
    }
    return nix.append("};\n").toString();
  }

  static String quote(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("${", "\\${") + "\"";
  }
}
