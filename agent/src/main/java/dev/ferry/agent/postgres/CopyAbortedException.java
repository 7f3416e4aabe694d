package dev.ferry.agent.postgres;

import dev.ferry.agent.grpc.Statuses;

/**
 * A copy stopped before the swap: a cut stream, a failed restore or a verification difference.
 * The real database is untouched; the staging database is left, clearly named, for inspection,
 * and the next run removes it.
 */
public final class CopyAbortedException extends Exception implements Statuses.HasStatusCode {
  public CopyAbortedException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String statusCode() {
    return "ABORTED";
  }
}
