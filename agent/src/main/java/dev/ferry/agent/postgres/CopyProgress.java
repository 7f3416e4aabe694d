package dev.ferry.agent.postgres;

/** Where a copy is. {@code note} is a line for humans, or empty. */
public record CopyProgress(Phase phase, long bytesStreamed, int tablesRestored, int tablesTotal, String note) {
  public enum Phase { PREFLIGHT, CLEANUP, STREAMING, RESTORING, VERIFYING, SWAPPING }
}
