package dev.ferry.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.common.ticket.Tickets;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.Pairing;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.controller.testing.TestController;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.RedeemTicketRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real agents, real TLS 1.3 on loopback: who gets in and who does not. */
@Timeout(120)
class MutualTlsTest {
  @TempDir Path dir;
  private TestAgent agent;
  private TestController controller;

  @BeforeEach
  void start() throws Exception {
    agent = TestAgent.start(dir.resolve("agent"), Map.of());
    controller = new TestController(dir.resolve("controller"));
  }

  @AfterEach
  void stop() {
    agent.close();
  }

  @Test
  void pairedControllerCallsEveryRpc() throws Exception {
    PairedHost host = controller.pair("old", agent);
    assertEquals(agent.fingerprint(), host.fingerprint());
    ManagedChannel channel = channel(controller.identity(), agent.fingerprint());
    try {
      var stub = AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
      assertEquals(agent.fingerprint(), stub.getStatus(GetStatusRequest.getDefaultInstance()).getStatus().getFingerprint());
      // RedeemTicket: a ticket the controller issues to itself is valid for it.
      var ticket = Tickets.issue(controller.identity(), "m1", agent.fingerprint(), controller.identity().fingerprint(),
          Set.of(Operation.OPERATION_READ_MEDIA), Duration.ofMinutes(5), Clock.systemUTC());
      assertFalse(stub.redeemTicket(RedeemTicketRequest.newBuilder().setTicket(ticket).build()).getSessionToken().isEmpty());
      // Pair: a second controller with a fresh code (the rpc is open to new certificates by design).
      Pairing.Result second = Pairing.pair(Identity.create(dir.resolve("c2"), "c2"), "c2", agent.address(), agent.newPairingCode());
      assertEquals(agent.fingerprint(), second.agentFingerprint());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void clientWithoutCertificateIsRefusedAtTheHandshake() throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(agent.address())
            .sslContext(GrpcSslContexts.forClient()
                .trustManager(PinnedTrustManager.exactly(agent.fingerprint(), "agent"))
                .protocols("TLSv1.3").build())
            .overrideAuthority("ferry-agent")
            .build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
          AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
              .getStatus(GetStatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void unknownCertificateIsRefusedWithAClearError() throws Exception {
    Identity stranger = Identity.create(dir.resolve("stranger"), "stranger");
    ManagedChannel channel = channel(stranger, agent.fingerprint());
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
          AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
              .getStatus(GetStatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("not paired"), e.getStatus().getDescription());
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void wrongAgentFingerprintIsRefusedByTheController() throws Exception {
    controller.pair("old", agent);
    PairedHost real = controller.home().requireHost("old");
    // Pin some other fingerprint for the same address, as if another machine answered there.
    PairedHost forged = new PairedHost("old", real.address(), "0".repeat(64), real.hostname(), real.pairedAt());
    try (AgentClient client = AgentClient.connect(forged, controller.identity())) {
      AgentException e = assertThrows(AgentException.class, client::status);
      assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
    }
  }

  @Test
  void pairingCodeWorksOnce() throws Exception {
    String code = agent.newPairingCode();
    assertEquals(0, controller.run("pair", "old", agent.address(), "--code", code).exitCode());
    TestController other = new TestController(dir.resolve("other"));
    TestController.Run again = other.run("pair", "old", agent.address(), "--code", code);
    assertEquals(1, again.exitCode());
    assertTrue(again.err().contains("no pairing code is pending"), again.err());
    assertTrue(other.home().hosts().isEmpty());
  }

  @Test
  void aWrongFingerprintStopsPairingBeforeTheCodeIsUsed() throws Exception {
    String code = agent.newPairingCode();
    String other = "ab".repeat(32);
    TestController.Run wrong = controller.run("pair", "old", agent.address(), "--code", code, "--fingerprint", other);
    assertEquals(1, wrong.exitCode());
    assertTrue(wrong.err().contains("not the one given"), wrong.err());
    assertTrue(controller.home().hosts().isEmpty());
    assertTrue(agent.state().trustedControllers().isEmpty());
    // The code was never sent in any form: it still pairs, with the right fingerprint.
    TestController.Run right = controller.run("pair", "old", agent.address(), "--code", code, "--fingerprint", agent.fingerprint());
    assertEquals(0, right.exitCode(), right.err());
    assertEquals(1, agent.state().trustedControllers().size());
  }

  @Test
  void expiredPairingCodeIsRefused() throws Exception {
    try (TestAgent quick = TestAgent.start(dir.resolve("quick"), Map.of(ConfigKey.PAIRING_CODE_TTL, "1s"))) {
      String code = quick.newPairingCode();
      Thread.sleep(1500);
      TestController.Run run = controller.run("pair", "q", quick.address(), "--code", code);
      assertEquals(1, run.exitCode());
      assertTrue(run.err().contains("expired"), run.err());
      assertTrue(quick.state().trustedControllers().isEmpty());
    }
  }

  @Test
  void wrongPairingCodeIsRefusedAndDroppedAfterRepeatedTries() throws Exception {
    String code = agent.newPairingCode();
    for (int i = 0; i < 5; i++) {
      TestController.Run run = controller.run("pair", "old", agent.address(), "--code", "AAAA-BBBB-CCCC");
      assertEquals(1, run.exitCode());
      assertTrue(run.err().contains("wrong pairing code"), run.err());
    }
    // Brute force is cut off: even the right code no longer works.
    TestController.Run run = controller.run("pair", "old", agent.address(), "--code", code);
    assertEquals(1, run.exitCode());
    assertTrue(agent.state().trustedControllers().isEmpty());
  }

  @Test
  void ticketsAreCheckedOnRedemption() throws Exception {
    controller.pair("old", agent);
    Identity target = Identity.create(dir.resolve("target"), "target");
    ManagedChannel channel = channel(target, agent.fingerprint());
    try {
      var stub = AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
      // Before redeeming anything, the target is a stranger.
      assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class,
          () -> stub.getStatus(GetStatusRequest.getDefaultInstance())).getStatus().getCode());
      var good = Tickets.issue(controller.identity(), "m", agent.fingerprint(), target.fingerprint(),
          Set.of(Operation.OPERATION_READ_MEDIA), Duration.ofMinutes(5), Clock.systemUTC());
      assertFalse(stub.redeemTicket(RedeemTicketRequest.newBuilder().setTicket(good).build()).getSessionToken().isEmpty());
      assertRefused(stub, good, "already used");
      var otherHolder = Tickets.issue(controller.identity(), "m", agent.fingerprint(), controller.identity().fingerprint(),
          Set.of(Operation.OPERATION_READ_MEDIA), Duration.ofMinutes(5), Clock.systemUTC());
      assertRefused(stub, otherHolder, "another agent");
      var expired = Tickets.issue(controller.identity(), "m", agent.fingerprint(), target.fingerprint(),
          Set.of(Operation.OPERATION_READ_MEDIA), Duration.ofMinutes(5), Clock.offset(Clock.systemUTC(), Duration.ofMinutes(-6)));
      assertRefused(stub, expired, "expired");
      Identity rogue = Identity.create(dir.resolve("rogue"), "rogue");
      var forged = Tickets.issue(rogue, "m", agent.fingerprint(), target.fingerprint(),
          Set.of(Operation.OPERATION_READ_MEDIA), Duration.ofMinutes(5), Clock.systemUTC());
      assertRefused(stub, forged, "not issued by a paired controller");
      var tampered = good.toBuilder().setSignature(otherHolder.getSignature()).build();
      assertRefused(stub, tampered, "signature");
    } finally {
      channel.shutdownNow();
    }
  }

  private static void assertRefused(AgentServiceGrpc.AgentServiceBlockingStub stub, dev.ferry.proto.v1.Ticket ticket, String why) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> stub.redeemTicket(RedeemTicketRequest.newBuilder().setTicket(ticket).build()));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains(why), e.getStatus().getDescription());
  }

  private ManagedChannel channel(Identity identity, String agentFingerprint) {
    return dev.ferry.controller.client.Channels.open(
        agent.address(), identity, PinnedTrustManager.exactly(agentFingerprint, "agent"));
  }
}
