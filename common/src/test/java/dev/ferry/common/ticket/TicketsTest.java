package dev.ferry.common.ticket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.ferry.common.identity.Identity;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.Ticket;
import dev.ferry.proto.v1.TicketClaims;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TicketsTest {
  @TempDir Path dir;
  Identity controller;
  Map<String, X509Certificate> trusted;
  final String source = "5".repeat(64);
  final String holder = "7".repeat(64);
  final Clock clock = Clock.systemUTC();

  @BeforeEach
  void setUp() throws Exception {
    controller = Identity.create(dir.resolve("c"), "controller");
    trusted = Map.of(controller.fingerprint(), controller.certificate());
  }

  private Ticket issue(Duration ttl, Clock at) {
    return Tickets.issue(controller, "m1", source, holder, Set.of(Operation.OPERATION_READ_MEDIA), ttl, at);
  }

  @Test
  void validTicketVerifies() throws Exception {
    TicketClaims claims = Tickets.verify(issue(Duration.ofMinutes(5), clock), trusted, source, holder, clock);
    assertEquals("m1", claims.getMigrationId());
    assertEquals(Set.of(Operation.OPERATION_READ_MEDIA), Set.copyOf(claims.getOperationsList()));
  }

  @Test
  void everyAlterationIsRefused() throws Exception {
    Ticket good = issue(Duration.ofMinutes(5), clock);
    TicketClaims claims = TicketClaims.parseFrom(good.getClaims());
    // Granting oneself another operation breaks the signature.
    Ticket widened = good.toBuilder().setClaims(claims.toBuilder().addOperations(Operation.OPERATION_READ_SECRETS)
        .build().toByteString()).build();
    assertTrue(refused(widened, source, holder).contains("signature"));
    assertTrue(refused(good, source, "8".repeat(64)).contains("another agent"));
    assertTrue(refused(good, "6".repeat(64), holder).contains("another source"));
    assertTrue(refused(good.toBuilder().setClaims(ByteString.copyFromUtf8("\u00ff\u00ff")).build(), source, holder)
        .contains("malformed"));
    assertTrue(refused(issue(Duration.ofMinutes(5), Clock.offset(clock, Duration.ofMinutes(-10))), source, holder)
        .contains("expired"));
  }

  @Test
  void overlongTicketsCannotBeIssued() {
    assertThrows(IllegalArgumentException.class, () -> issue(Duration.ofHours(1), clock));
  }

  private String refused(Ticket ticket, String src, String caller) {
    return assertThrows(TicketException.class, () -> Tickets.verify(ticket, trusted, src, caller, clock)).getMessage();
  }
}
