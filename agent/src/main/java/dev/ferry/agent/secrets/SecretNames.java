package dev.ferry.agent.secrets;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The secret settings ferry carries, and their NixOS file names (research/domain.md 3.4): each
 * file under the secrets directory holds the bare value.
 */
public final class SecretNames {
  public static final String AR_PREFIX = "ACTIVE_RECORD_ENCRYPTION_";

  /** Env key to NixOS file name, in a stable order. */
  public static final Map<String, String> NIXOS_FILES;

  static {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("SECRET_KEY_BASE", "secret-key-base");
    files.put("OTP_SECRET", "otp-secret");
    files.put("VAPID_PRIVATE_KEY", "vapid-private-key");
    files.put("VAPID_PUBLIC_KEY", "vapid-public-key");
    files.put("ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "active-record-encryption-deterministic-key");
    files.put("ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "active-record-encryption-key-derivation-salt");
    files.put("ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "active-record-encryption-primary-key");
    NIXOS_FILES = java.util.Collections.unmodifiableMap(files);
  }

  /**
   * Without these a moved instance breaks (sessions, web push). OTP_SECRET is gone since
   * Mastodon 4.4 and the Active Record keys appeared in 4.3, so they are carried when present.
   */
  public static final List<String> REQUIRED = List.of("SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY");

  private SecretNames() {}

  public static boolean isSecret(String key) {
    return NIXOS_FILES.containsKey(key) || key.startsWith(AR_PREFIX);
  }

  public static Optional<String> nixosFile(String key) {
    return Optional.ofNullable(NIXOS_FILES.get(key));
  }
}
