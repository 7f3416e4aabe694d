package dev.ferry.controller.client;

import java.util.List;
import java.util.Optional;

/**
 * A finished, verified and swapped database copy.
 *
 * @param renamedAsideTo the target's old database, renamed aside (never dropped); empty if there
 *     was none
 * @param streamMillis first to last byte (a streamed restore runs meanwhile)
 * @param restoreMillis from the last byte until pg_restore finished
 * @param dropHint the command that drops the renamed-aside database once the user is satisfied
 */
public record DbCopyReport(
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
    List<DbProblem> warnings) {}
