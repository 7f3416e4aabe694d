package dev.ferry.controller.client;

import com.google.protobuf.ByteString;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PairingProof;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.PairRequest;
import dev.ferry.proto.v1.PairResponse;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The controller's side of pairing: connect, learn the agent's fingerprint from the handshake,
 * prove knowledge of the code bound to both fingerprints, and check the agent's proof.
 */
public final class Pairing {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);

  private Pairing() {}

  /** What pairing established. */
  public record Result(String agentFingerprint, String hostname) {}

  public static Result pair(Identity identity, String controllerName, String address, String code)
      throws AgentException {
    return pair(identity, controllerName, address, code, Optional.empty());
  }

  /**
   * As {@link #pair(Identity, String, String, String)}, but when the user gave the fingerprint
   * that {@code ferry-agent init} printed, a different agent gets nothing: not even the proof,
   * so the code stays unused and cannot be guessed offline from it.
   */
  public static Result pair(
      Identity identity, String controllerName, String address, String code, Optional<String> expectedFingerprint)
      throws AgentException {
    AtomicReference<String> seen = new AtomicReference<>();
    PinnedTrustManager recording =
        new PinnedTrustManager(
            fingerprint -> {
              seen.set(fingerprint);
              return true;
            },
            "agent");
    ManagedChannel channel = Channels.open(address, identity, recording);
    try {
      awaitReady(channel, address);
      String agentFp = seen.get();
      if (agentFp == null) {
        throw new AgentException(address, "UNAVAILABLE", "the agent presented no certificate", null);
      }
      if (expectedFingerprint.isPresent() && !expectedFingerprint.get().equals(agentFp)) {
        throw new AgentException(address, "PERMISSION_DENIED", "the agent has fingerprint " + agentFp
            + ", not the one given; nothing was sent to it and the pairing code is still unused", null);
      }
      PairResponse response;
      try {
        response =
            AgentServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .pair(
                    PairRequest.newBuilder()
                        .setControllerName(controllerName)
                        .setProof(ByteString.copyFrom(PairingProof.controllerProof(code, identity.fingerprint(), agentFp)))
                        .build());
      } catch (StatusRuntimeException e) {
        throw Failures.of(address, e);
      }
      byte[] expected = PairingProof.agentProof(code, agentFp, identity.fingerprint());
      if (!PairingProof.matches(expected, response.getProof().toByteArray())) {
        throw new AgentException(
            address, "PERMISSION_DENIED", "the agent's pairing proof is wrong: something is between you and the agent", null);
      }
      return new Result(agentFp, response.getHostname());
    } finally {
      Channels.close(channel);
    }
  }

  private static void awaitReady(ManagedChannel channel, String address) throws AgentException {
    long deadline = System.nanoTime() + CONNECT_TIMEOUT.toNanos();
    ConnectivityState state = channel.getState(true);
    while (state != ConnectivityState.READY) {
      if (state == ConnectivityState.TRANSIENT_FAILURE || System.nanoTime() > deadline) {
        // A real call surfaces the transport's reason (refused, TLS failure, ...).
        try {
          AgentServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .pair(PairRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
          throw Failures.of(address, e);
        }
        throw new AgentException(address, "UNAVAILABLE", "cannot connect", null);
      }
      Object lock = new Object();
      synchronized (lock) {
        channel.notifyWhenStateChanged(state, () -> {
          synchronized (lock) {
            lock.notifyAll();
          }
        });
        try {
          lock.wait(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AgentException(address, "CANCELLED", "interrupted", e);
        }
      }
      state = channel.getState(true);
    }
  }
}
