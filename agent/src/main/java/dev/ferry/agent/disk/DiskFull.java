package dev.ferry.agent.disk;

import java.io.IOException;
import java.nio.file.Path;

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

  /**
   * {@code e} as the operator should read it if it is a full disk: where, what was being
   * written, what was kept ({@code kept}, e.g. "nothing was replaced") and what to do; otherwise
   * {@code e} itself.
   */
  public static IOException explained(IOException e, Path dir, String what, String kept) {
    if (!says(e.getMessage())) {
      return e;
    }
    return new IOException("the target disk is full (" + dir + ") while writing " + what + "; " + kept
        + "; free space there and run again (" + e.getMessage() + ")", e);
  }
}
