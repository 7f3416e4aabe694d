package dev.ferry.agent.postgres;

import java.util.List;
import java.util.Optional;

/**
 * What a finished copy did.
 *
 * @param renamedAsideTo the old database's new name, if there was one
 * @param streamMillis from the first byte to the last (for a streamed copy the restore runs
 *     meanwhile)
 * @param restoreMillis from the last byte until pg_restore finished
 * @param dropHint how to drop the renamed-aside database once satisfied; empty if none
 * @param warnings the preflight's warnings
 */
public record CopySummary(
    String databaseName,
    Optional<String> renamedAsideTo,
    long bytesStreamed,
    int tablesVerified,
    long rowsVerified,
    int sequencesVerified,
    long streamMillis,
    long restoreMillis,
    long verifyMillis,
    long swapMillis,
    long totalMillis,
    int jobs,
    boolean removedLeftoverStaging,
    String dropHint,
    List<Problem> warnings) {}
