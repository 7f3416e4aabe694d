package dev.ferry.agent.status;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.services.UnitState;
import java.util.List;

/**
 * What {@code ferry status} shows for one host, gathered without changing anything.
 *
 * @param protectedHardlinks fs.protected_hardlinks ("1" or "0"), or empty if it cannot be read
 * @param warnings what could not be found out, one line each
 */
public record HostReport(
    String hostname,
    String os,
    Layout layout,
    String mastodonVersion,
    Postgres postgres,
    Media media,
    List<Disk> disks,
    boolean systemdRunning,
    List<UnitState> units,
    String localDomain,
    String webDomain,
    String protectedHardlinks,
    List<String> warnings) {

  /** Versions are empty and the size -1 when unknown; error says why. */
  public record Postgres(
      String serverVersion,
      String pgDumpVersion,
      String pgRestoreVersion,
      String databaseName,
      long databaseSizeBytes,
      String error) {}

  public record Media(String root, boolean exists, long files, long bytes, String error) {}

  public record Disk(String purpose, String path, long freeBytes, long totalBytes) {}
}
