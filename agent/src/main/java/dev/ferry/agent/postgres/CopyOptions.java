package dev.ferry.agent.postgres;

/**
 * What the user asked for.
 *
 * @param jobs parallel restore jobs; 1 streams straight into pg_restore, more spools to a file
 * @param yes go ahead despite problems that only need confirming
 */
public record CopyOptions(int jobs, boolean yes) {
  public static final int MAX_JOBS = 64;

  public CopyOptions {
    if (jobs < 0 || jobs > MAX_JOBS) {
      throw new IllegalArgumentException("jobs must be between 1 and " + MAX_JOBS + ", not " + jobs);
    }
    jobs = Math.max(1, jobs);
  }

  public boolean parallel() {
    return jobs > 1;
  }
}
