package dev.ferry.agent.media;

import java.util.List;

/** The outcome of a pull; see MediaSummary in media_service.proto. */
public record PullSummary(
    long filesScanned,
    long filesSent,
    long filesSkipped,
    long filesDeleted,
    long bytesSent,
    long bytesSkipped,
    long filesResumed,
    long bytesResumed,
    long directoriesCreated,
    long elapsedMillis,
    boolean dryRun,
    List<String> refusals) {}
