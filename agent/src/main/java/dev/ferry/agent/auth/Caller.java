package dev.ferry.agent.auth;

import dev.ferry.proto.v1.Operation;
import java.util.Set;

/**
 * Who is calling, after authentication.
 *
 * @param fingerprint the TLS peer's certificate fingerprint
 * @param controller true for a paired controller, which may call everything
 * @param operations what a peer agent's redeemed ticket allows (empty for controllers and strangers)
 * @param migrationId the ticket's migration, for audit logs
 */
public record Caller(
    String fingerprint, boolean controller, Set<Operation> operations, String migrationId) {

  public static Caller controller(String fingerprint) {
    return new Caller(fingerprint, true, Set.of(), "");
  }

  public static Caller stranger(String fingerprint) {
    return new Caller(fingerprint, false, Set.of(), "");
  }

  public boolean may(Operation operation) {
    return controller || operations.contains(operation);
  }
}
