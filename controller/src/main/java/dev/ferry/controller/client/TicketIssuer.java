package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.common.ticket.Tickets;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import java.time.Clock;
import java.util.Set;

/**
 * Issues the ticket with which a target agent pulls from a source agent, and packs it with the
 * source's address and pinned fingerprint.
 */
public final class TicketIssuer {
  private final Identity controller;
  private final Clock clock;

  public TicketIssuer(Identity controller, Clock clock) {
    this.controller = controller;
    this.clock = clock;
  }

  public PeerSource issue(String migrationId, PairedHost source, PairedHost target, Set<Operation> operations) {
    return PeerSource.newBuilder()
        .setAddress(source.address())
        .setFingerprint(source.fingerprint())
        .setTicket(
            Tickets.issue(
                controller, migrationId, source.fingerprint(), target.fingerprint(), operations, Tickets.DEFAULT_TTL, clock))
        .build();
  }
}
