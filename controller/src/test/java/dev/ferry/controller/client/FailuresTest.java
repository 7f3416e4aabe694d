package dev.ferry.controller.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

/** The messages a user reads when an agent, or the peer it pulls from, cannot be reached. */
class FailuresTest {
  @Test
  void anUnreachableAgentPointsAtItsAddressAndFirewall() {
    AgentException e = Failures.of("nixos", Status.UNAVAILABLE.withDescription("io exception").asRuntimeException());
    assertEquals("UNAVAILABLE", e.code());
    assertTrue(e.getMessage().contains("cannot reach the agent: io exception"), e.getMessage());
  }

  @Test
  void aLostSourceIsNotBlamedOnTheTargetItWasReachedThrough() {
    AgentException e = Failures.of("nixos",
        Status.UNAVAILABLE.withDescription("source agent: io exception").asRuntimeException());
    assertTrue(e.getMessage().contains("lost the source agent: io exception"), e.getMessage());
    assertTrue(e.getMessage().contains("it continues where it stopped"), e.getMessage());
    assertFalse(e.getMessage().contains("cannot reach the agent"), e.getMessage());
  }
}
