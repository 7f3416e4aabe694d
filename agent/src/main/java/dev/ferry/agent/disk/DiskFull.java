package dev.ferry.agent.disk;

/**
 * How a full disk shows in an error's text: the kernel's ENOSPC and EDQUOT, as Java and
 * PostgreSQL both pass them on. One test for every writer that turns it into a clear message.
 */
public final class DiskFull {
  private DiskFull() {}

  /** True if {@code message} (possibly null) reports a full disk or an exhausted quota. */
  public static boolean says(String message) {
    return message != null && (message.contains("No space left") || message.contains("Disk quota exceeded"));
  }
}
