package dev.ferry.agent.postgres;

/**
 * Something the preflight found. The message says what is wrong and exactly what to install or
 * change.
 *
 * @param side "source" or "target"
 * @param code stable, for scripts (e.g. {@code version_skew_restore})
 */
public record Problem(Severity severity, String side, String code, String message) {
  public enum Severity {
    /** Shown; does not stop the copy. */
    WARNING,
    /** Stops the copy unless the user said --yes. */
    NEEDS_CONFIRMATION,
    /** Stops the copy. */
    REFUSAL
  }

  /** Whether this problem stops a copy run with the given confirmation. */
  public boolean blocks(boolean confirmed) {
    return severity == Severity.REFUSAL || (severity == Severity.NEEDS_CONFIRMATION && !confirmed);
  }
}
