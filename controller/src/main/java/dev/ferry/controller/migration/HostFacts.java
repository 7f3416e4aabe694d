package dev.ferry.controller.migration;

import java.util.List;
import java.util.Set;

/**
 * What preflight needs to know about one host, read without changing anything.
 *
 * @param pgServerMajor 0 when the server could not be reached
 * @param dbSizeBytes -1 when the database does not exist
 * @param units the layout's Mastodon units as systemd reports them (empty without systemd)
 * @param secretsPresent the names of the secret settings found (never their values)
 * @param protectedHardlinks fs.protected_hardlinks as the agent read it ("1", "0"), or empty
 */
public record HostFacts(
    String name,
    String layout,
    String localDomain,
    String webDomain,
    String mastodonVersion,
    int pgServerMajor,
    int pgDumpMajor,
    int pgRestoreMajor,
    String dbName,
    long dbSizeBytes,
    long mediaFiles,
    long mediaBytes,
    long mediaFreeBytes,
    long dbFreeBytes,
    boolean systemdRunning,
    List<Unit> units,
    Set<String> secretsPresent,
    String protectedHardlinks) {

  /** A unit as systemd reports it. */
  public record Unit(String name, String loadState, String activeState) {
    public boolean exists() {
      return !loadState.isEmpty() && !"not-found".equals(loadState);
    }
  }
}
