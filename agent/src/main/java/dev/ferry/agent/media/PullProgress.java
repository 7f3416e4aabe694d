package dev.ferry.agent.media;

/** A snapshot of a running pull. */
public record PullProgress(
    Phase phase, long filesScanned, long filesPlanned, long bytesPlanned, long filesDone, long bytesDone, long elapsedMillis) {

  /** Where the pull stands. */
  public enum Phase {
    SCANNING,
    TRANSFERRING,
    DELETING,
    FINISHING
  }
}
