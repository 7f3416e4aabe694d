package dev.ferry.agent.postgres;

import java.util.List;

/**
 * One host's database as far as a copy is concerned. Collected by {@link DatabaseInspector};
 * whatever could not be found out is in {@code errors}, never thrown.
 *
 * @param dataDirectory the server's data directory; empty if unknown
 * @param databaseSizeBytes -1 if unknown
 * @param grantees roles (other than PUBLIC and the objects' owners) named in grants inside the
 *     database; a restore with these grants fails unless they exist on the target
 * @param tableCount tables and materialized views outside the system schemas
 * @param dataFreeBytes free bytes where the server keeps its data; -1 if unknown
 * @param spoolFreeBytes free bytes where a parallel restore spools the archive; -1 if unknown
 * @param systemdRunning false when unit states could not be checked
 * @param activeUnits Mastodon units that are active
 */
public record DatabaseFacts(
    String databaseName,
    String role,
    String superuser,
    String dataDirectory,
    String serverVersion,
    String pgDumpVersion,
    String pgRestoreVersion,
    boolean databaseExists,
    long databaseSizeBytes,
    String encoding,
    boolean roleExists,
    boolean osUserExists,
    List<String> grantees,
    int tableCount,
    long dataFreeBytes,
    long spoolFreeBytes,
    boolean spoolOnDataFilesystem,
    boolean stagingExists,
    String stagingName,
    boolean systemdRunning,
    List<String> activeUnits,
    List<String> errors) {

  public DatabaseFacts {
    grantees = List.copyOf(grantees);
    activeUnits = List.copyOf(activeUnits);
    errors = List.copyOf(errors);
  }
}
