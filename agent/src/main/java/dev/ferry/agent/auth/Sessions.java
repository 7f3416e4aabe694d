package dev.ferry.agent.auth;

import dev.ferry.proto.v1.Operation;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sessions opened by redeeming a ticket: a random token bound to the holder's fingerprint, the
 * ticket's operations and its expiry. In memory only; an agent restart ends them, and the
 * controller then issues a fresh ticket.
 */
public final class Sessions {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** An open session. */
  public record Session(String holderFingerprint, Set<Operation> operations, long expiresAtMillis, String migrationId) {}

  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final Clock clock;

  public Sessions(Clock clock) {
    this.clock = clock;
  }

  public String open(Session session) {
    byte[] token = new byte[32];
    RANDOM.nextBytes(token);
    String id = HexFormat.of().formatHex(token);
    sessions.put(id, session);
    long now = clock.millis();
    sessions.values().removeIf(s -> s.expiresAtMillis() <= now);
    return id;
  }

  /** The session for {@code token} if it is live and belongs to {@code callerFingerprint}. */
  public Optional<Session> find(String token, String callerFingerprint) {
    Session session = sessions.get(token);
    if (session == null
        || session.expiresAtMillis() <= clock.millis()
        || !session.holderFingerprint().equals(callerFingerprint)) {
      return Optional.empty();
    }
    return Optional.of(session);
  }
}
