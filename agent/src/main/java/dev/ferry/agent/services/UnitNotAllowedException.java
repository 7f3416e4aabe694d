package dev.ferry.agent.services;

import dev.ferry.agent.grpc.Statuses;
import java.util.List;

/** A unit name outside the agent's allowlist ({@code units.allow}); nothing was done. */
public final class UnitNotAllowedException extends Exception implements Statuses.HasStatusCode {
  public UnitNotAllowedException(List<String> refused, List<String> allow) {
    super("refused unit" + (refused.size() == 1 ? " " : "s ") + String.join(", ", refused)
        + ": this agent only acts on units matching " + String.join(", ", allow)
        + " (units.allow in its config); nothing was done");
  }

  @Override
  public String statusCode() {
    return "PERMISSION_DENIED";
  }
}
