package dev.ferry.agent.auth;

import dev.ferry.agent.state.AgentState;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PairingProof;
import dev.ferry.common.ticket.TicketException;
import dev.ferry.common.ticket.Tickets;
import dev.ferry.proto.v1.Ticket;
import dev.ferry.proto.v1.TicketClaims;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.EnumSet;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Decides who a caller is (controller, ticket holder or stranger), pairs new controllers and
 * redeems tickets. Knows nothing of gRPC: it sees fingerprints, certificates and messages.
 */
public final class Authenticator {
  private static final Logger logger = Logger.getLogger(Authenticator.class.getName());

  private final AgentState state;
  private final Identity identity;
  private final Sessions sessions;
  private final Clock clock;

  public Authenticator(AgentState state, Identity identity, Clock clock) {
    this.state = state;
    this.identity = identity;
    this.sessions = new Sessions(clock);
    this.clock = clock;
  }

  public String fingerprint() {
    return identity.fingerprint();
  }

  /** Identifies a caller from its certificate fingerprint and optional session token. */
  public Caller identify(String callerFingerprint, Optional<String> sessionToken) throws IOException {
    if (state.trustedControllers().containsKey(callerFingerprint)) {
      return Caller.controller(callerFingerprint);
    }
    if (sessionToken.isPresent()) {
      Optional<Sessions.Session> session = sessions.find(sessionToken.get(), callerFingerprint);
      if (session.isPresent()) {
        return new Caller(callerFingerprint, false, session.get().operations(), session.get().migrationId());
      }
    }
    return Caller.stranger(callerFingerprint);
  }

  /**
   * Checks a controller's pairing proof against the pending code; on success trusts the
   * controller, consumes the code and returns the agent's proof.
   */
  public synchronized byte[] pair(X509Certificate controller, String controllerName, byte[] proof)
      throws AccessDeniedException, IOException {
    String controllerFp = dev.ferry.common.identity.Fingerprints.of(controller);
    var pending =
        state.pairingCodes().pending()
            .orElseThrow(() -> new IllegalStateException(
                "no pairing code is pending on this agent (it was used, or never made): run 'ferry-agent init' there for a new one"));
    if (!clock.instant().isBefore(pending.expiresAt())) {
      state.pairingCodes().consume();
      throw new AccessDeniedException(
          "the pairing code has expired: run 'ferry-agent init' on the agent for a new one");
    }
    byte[] expected = PairingProof.controllerProof(pending.code(), controllerFp, identity.fingerprint());
    if (!PairingProof.matches(expected, proof)) {
      boolean dropped = state.pairingCodes().recordFailure(pending);
      logger.warning("pairing refused for " + controllerFp + ": wrong code" + (dropped ? " (code dropped after repeated failures)" : ""));
      throw new AccessDeniedException(
          "wrong pairing code, or a different agent answered at this address (check the fingerprint)");
    }
    state.pairingCodes().consume();
    state.trustController(controller, controllerName);
    logger.info("paired with controller '" + controllerName + "' " + controllerFp);
    return PairingProof.agentProof(pending.code(), identity.fingerprint(), controllerFp);
  }

  /** A redeemed ticket: the session and the token that names it. */
  public record Redeemed(String token, Sessions.Session session) {}

  /** Verifies a ticket presented by {@code callerFingerprint} and opens a session for it. */
  public Redeemed redeem(Ticket ticket, String callerFingerprint)
      throws AccessDeniedException, IOException {
    try {
      TicketClaims.parseFrom(ticket.getClaims());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      logger.warning("malformed ticket from " + callerFingerprint);
      throw new IllegalArgumentException("the ticket is malformed");
    }
    TicketClaims claims;
    try {
      claims = Tickets.verify(ticket, state.trustedControllers(), identity.fingerprint(), callerFingerprint, clock);
    } catch (TicketException e) {
      logger.warning("ticket refused for " + callerFingerprint + ": " + e.getMessage());
      throw new AccessDeniedException(e.getMessage());
    }
    if (!state.nonceLedger().redeem(claims.getNonce(), claims.getExpiresAtUnixMillis(), clock.millis())) {
      logger.warning("replayed ticket from " + callerFingerprint + " for migration " + claims.getMigrationId());
      throw new AccessDeniedException("the ticket was already used");
    }
    Sessions.Session session =
        new Sessions.Session(
            callerFingerprint,
            EnumSet.copyOf(claims.getOperationsList()),
            claims.getExpiresAtUnixMillis(),
            claims.getMigrationId());
    String token = sessions.open(session);
    logger.info("ticket redeemed by " + callerFingerprint + " for migration " + claims.getMigrationId()
        + " allowing " + claims.getOperationsList());
    return new Redeemed(token, session);
  }
}
