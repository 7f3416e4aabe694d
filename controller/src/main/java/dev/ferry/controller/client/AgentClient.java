package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.CheckWebRequest;
import dev.ferry.proto.v1.CheckWebResponse;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.HostStatus;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A connection to one paired agent. Translates gRPC failures into {@link AgentException}s with a
 * message a user can act on.
 */
public final class AgentClient implements AutoCloseable {
  private static final Duration STATUS_DEADLINE = Duration.ofMinutes(2);

  private final PairedHost host;
  private final ManagedChannel channel;

  private AgentClient(PairedHost host, ManagedChannel channel) {
    this.host = host;
    this.channel = channel;
  }

  public static AgentClient connect(PairedHost host, Identity identity) {
    return new AgentClient(
        host, Channels.open(host.address(), identity, PinnedTrustManager.exactly(host.fingerprint(), "agent")));
  }

  /**
   * Starts connecting (TCP and the TLS handshake) in the background and returns at once, so work
   * done meanwhile (signing a ticket) overlaps it instead of preceding the first call.
   */
  public AgentClient connectNow() {
    channel.getState(true);
    return this;
  }

  public PairedHost host() {
    return host;
  }

  /** For other client classes in this package that need the raw channel. */
  ManagedChannel channel() {
    return channel;
  }

  public HostStatus status() throws AgentException {
    try {
      return AgentServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(STATUS_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
          .getStatus(GetStatusRequest.getDefaultInstance())
          .getStatus();
    } catch (StatusRuntimeException e) {
      throw Failures.of(host.name(), e);
    }
  }

  /** What the target's local smoke test saw. */
  public record WebCheck(boolean passed, boolean healthOk, String instanceDomain, String detail) {}

  /** Asks the agent to smoke-test its local web service, waiting up to {@code wait} for it to start. */
  public WebCheck checkWeb(String expectedDomain, Duration wait) throws AgentException {
    try {
      CheckWebResponse response =
          AgentServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(wait.plusSeconds(30).toMillis(), TimeUnit.MILLISECONDS)
              .checkWeb(CheckWebRequest.newBuilder()
                  .setExpectedDomain(expectedDomain)
                  .setWaitSeconds((int) wait.toSeconds())
                  .build());
      return new WebCheck(response.getPassed(), response.getHealthOk(), response.getInstanceDomain(), response.getDetail());
    } catch (StatusRuntimeException e) {
      throw Failures.of(host.name(), e);
    }
  }

  @Override
  public void close() {
    Channels.close(channel);
  }
}
