package dev.ferry.controller.client;

/**
 * One side's database, as the preflight saw it.
 *
 * @param sizeBytes -1 if unknown or missing
 * @param freeBytes free bytes on the data directory's filesystem; -1 if unknown
 */
public record DbSide(
    String databaseName,
    String role,
    boolean exists,
    String serverVersion,
    String pgDumpVersion,
    String pgRestoreVersion,
    long sizeBytes,
    long freeBytes,
    int tables) {}
