package dev.ferry.agent.tootctl;

import dev.ferry.agent.grpc.Statuses;

/** A tootctl command outside ferry's allowlist; nothing was run. */
public final class TootctlNotAllowedException extends Exception implements Statuses.HasStatusCode {
  public TootctlNotAllowedException(String message) {
    super(message);
  }

  @Override
  public String statusCode() {
    return "PERMISSION_DENIED";
  }
}
