package dev.ferry.controller.client;

/**
 * Something the database preflight found. The message says exactly what to install or change.
 *
 * @param side "source" or "target"
 * @param code stable, for scripts: e.g. version_skew_restore, version_skew_dump, disk_space,
 *     missing_role, missing_grantee_roles, units_active, units_unchecked
 */
public record DbProblem(Severity severity, String side, String code, String message) {
  public enum Severity {
    /** Shown; does not stop the copy. */
    WARNING,
    /** Stops the copy unless confirmed (--yes). */
    NEEDS_CONFIRMATION,
    /** Stops the copy. */
    REFUSAL
  }

  public boolean blocks(boolean confirmed) {
    return severity == Severity.REFUSAL || (severity == Severity.NEEDS_CONFIRMATION && !confirmed);
  }
}
