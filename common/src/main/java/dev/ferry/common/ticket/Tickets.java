package dev.ferry.common.ticket;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ferry.common.identity.Fingerprints;
import dev.ferry.common.identity.Identity;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.Ticket;
import dev.ferry.proto.v1.TicketClaims;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/** Signs tickets on the controller and checks them on the source agent. */
public final class Tickets {
  /** Tickets live minutes, not hours: long enough for a slow start, short enough to be useless later. */
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(10);

  public static final Duration MAX_TTL = Duration.ofMinutes(15);
  /** How far the controller's clock may run ahead of an agent's. */
  public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
  private static final String ALGORITHM = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();

  private Tickets() {}

  /** Issues a ticket that lets {@code holderFingerprint} do {@code operations} on the source. */
  public static Ticket issue(
      Identity controller,
      String migrationId,
      String sourceFingerprint,
      String holderFingerprint,
      Set<Operation> operations,
      Duration ttl,
      Clock clock) {
    if (ttl.compareTo(MAX_TTL) > 0 || ttl.isNegative()) {
      throw new IllegalArgumentException("a ticket lives at most " + MAX_TTL.toMinutes() + " minutes");
    }
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    long now = clock.millis();
    TicketClaims claims =
        TicketClaims.newBuilder()
            .setMigrationId(migrationId)
            .setIssuerFingerprint(controller.fingerprint())
            .setSourceFingerprint(Fingerprints.normalize(sourceFingerprint))
            .setHolderFingerprint(Fingerprints.normalize(holderFingerprint))
            .addAllOperations(operations)
            .setIssuedAtUnixMillis(now)
            .setExpiresAtUnixMillis(now + ttl.toMillis())
            .setNonce(HexFormat.of().formatHex(nonce))
            .build();
    byte[] body = claims.toByteArray();
    try {
      Signature signer = Signature.getInstance(ALGORITHM);
      signer.initSign(controller.privateKey());
      signer.update(body);
      return Ticket.newBuilder()
          .setClaims(ByteString.copyFrom(body))
          .setSignature(ByteString.copyFrom(signer.sign()))
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a ticket: " + e.getMessage(), e);
    }
  }

  /**
   * Checks everything about a ticket except its nonce, which only the caller can remember.
   *
   * @param trustedControllers fingerprint to certificate of every paired controller
   * @param sourceFingerprint this agent's fingerprint
   * @param callerFingerprint the fingerprint of the TLS peer presenting the ticket
   */
  public static TicketClaims verify(
      Ticket ticket,
      Map<String, X509Certificate> trustedControllers,
      String sourceFingerprint,
      String callerFingerprint,
      Clock clock)
      throws TicketException {
    TicketClaims claims;
    try {
      claims = TicketClaims.parseFrom(ticket.getClaims());
    } catch (InvalidProtocolBufferException e) {
      throw new TicketException("the ticket is malformed");
    }
    X509Certificate issuer = trustedControllers.get(claims.getIssuerFingerprint());
    if (issuer == null) {
      throw new TicketException("the ticket was not issued by a paired controller");
    }
    try {
      Signature verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(issuer.getPublicKey());
      verifier.update(ticket.getClaims().toByteArray());
      if (!verifier.verify(ticket.getSignature().toByteArray())) {
        throw new TicketException("the ticket's signature is not valid");
      }
    } catch (GeneralSecurityException e) {
      throw new TicketException("the ticket's signature is not valid");
    }
    if (!claims.getSourceFingerprint().equals(sourceFingerprint)) {
      throw new TicketException("the ticket is for another source agent");
    }
    if (!claims.getHolderFingerprint().equals(callerFingerprint)) {
      throw new TicketException("the ticket was issued to another agent than the caller");
    }
    long now = clock.millis();
    if (now >= claims.getExpiresAtUnixMillis()) {
      throw new TicketException("the ticket has expired");
    }
    if (claims.getExpiresAtUnixMillis() - claims.getIssuedAtUnixMillis() > MAX_TTL.toMillis()) {
      throw new TicketException("the ticket's lifetime is longer than allowed");
    }
    // The lifetime above is the signer's own claim; an issue time in the future would stretch
    // it. Bound what is left of it from this agent's clock too (with room for clock skew).
    if (claims.getExpiresAtUnixMillis() - now > MAX_TTL.plus(CLOCK_SKEW).toMillis()
        || claims.getIssuedAtUnixMillis() - now > CLOCK_SKEW.toMillis()) {
      throw new TicketException("the ticket was issued in the future (check the controller's clock)");
    }
    if (claims.getNonce().length() < 16) {
      throw new TicketException("the ticket has no nonce");
    }
    if (claims.getOperationsCount() == 0
        || claims.getOperationsList().contains(Operation.OPERATION_UNSPECIFIED)) {
      throw new TicketException("the ticket grants no valid operation");
    }
    return claims;
  }
}
