package dev.ferry.controller.client;

/**
 * How to copy the database.
 *
 * @param jobs parallel restore jobs; 1 streams the dump straight into pg_restore, more spools it
 *     to a file on the target first (a pipe cannot be restored in parallel)
 * @param yes go ahead despite problems that only need confirming (Mastodon still running)
 */
public record DbCopyOptions(int jobs, boolean yes) {
  public DbCopyOptions {
    if (jobs < 1 || jobs > 64) {
      throw new IllegalArgumentException("--jobs must be between 1 and 64, not " + jobs);
    }
  }

  public static DbCopyOptions streamed() {
    return new DbCopyOptions(1, false);
  }
}
