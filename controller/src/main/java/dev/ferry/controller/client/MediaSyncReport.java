package dev.ferry.controller.client;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of a media sync, as the target agent reports it.
 *
 * @param filesScanned entries in the source's manifest (after exclusions)
 * @param filesSent files and symlinks received and renamed into place (would be, in a dry run)
 * @param filesSkipped already up to date (same size and mtime)
 * @param filesDeleted target paths deleted (would be, in a dry run)
 * @param bytesSent file bytes received (would be, in a dry run)
 * @param filesResumed files continued from a partial copy left by a cut run
 * @param bytesResumed bytes of those files that did not need sending again
 * @param refusals entries refused and not written, one line each
 */
public record MediaSyncReport(
    long filesScanned,
    long filesSent,
    long filesSkipped,
    long filesDeleted,
    long bytesSent,
    long bytesSkipped,
    long filesResumed,
    long bytesResumed,
    long directoriesCreated,
    Duration elapsed,
    boolean dryRun,
    List<String> refusals) {}
