package dev.ferry.agent.media;

import dev.ferry.agent.disk.DiskFull;
import dev.ferry.agent.grpc.Statuses;
import java.io.IOException;

/**
 * A media copy that cannot go on, with the canonical status code that tells the caller why: a
 * full disk, unsafe input, a cut or corrupt stream.
 */
public class MediaException extends IOException implements Statuses.HasStatusCode {
  private static final long serialVersionUID = 1L;

  /** The reasons a copy stops, named after the gRPC codes they map to. */
  public enum Reason {
    /** A path or stream entry that would escape the root, or that nobody asked for. */
    INVALID_ARGUMENT,
    /** The stream ended early or a file's hash did not match what the source sent. */
    DATA_LOSS,
    /** The disk is full. */
    RESOURCE_EXHAUSTED,
    /** Something on this host is not as the copy needs it (missing root, user, a pull running). */
    FAILED_PRECONDITION,
    /** The other agent went away. */
    UNAVAILABLE,
    /** The other agent refused. */
    PERMISSION_DENIED
  }

  private final Reason reason;

  public MediaException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public MediaException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  @Override
  public String statusCode() {
    return reason.name();
  }

  /** Turns a write failure into a clear "disk full" error when that is what it is. */
  static IOException onWrite(IOException e, String what) {
    return onWrite(e, what, null);
  }

  /**
   * Turns a write failure into a clear "disk full" error when that is what it is, naming the
   * filesystem (mount point and device) that holds {@code where}, so the user knows which disk to
   * free.
   */
  static IOException onWrite(IOException e, String what, java.nio.file.Path where) {
    if (e instanceof MediaException) {
      return e;
    }
    if (DiskFull.says(e.getMessage())) {
      return new MediaException(
          Reason.RESOURCE_EXHAUSTED,
          "the target disk is full" + filesystem(where) + " while writing " + what
              + "; free some space and run the sync again (it resumes; no partial file is left under a real name)",
          e);
    }
    return e;
  }

  /** " (filesystem /mount/point (device), N bytes free)", or "" if unknown. */
  private static String filesystem(java.nio.file.Path where) {
    for (java.nio.file.Path p = where; p != null; p = p.getParent()) {
      try {
        java.nio.file.FileStore store = java.nio.file.Files.getFileStore(p);
        return " (filesystem " + store + ", " + store.getUsableSpace() + " bytes free)";
      } catch (IOException | SecurityException e) {
        // Not there (yet): ask its parent, which is on the same filesystem until a mount point.
      }
    }
    return "";
  }
}
