package dev.ferry.agent.grpc;

import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.RedeemTicketRequest;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Opens a target agent's connection to a source agent: mutual TLS with this agent's own key,
 * the source's fingerprint pinned, and the controller's ticket redeemed for a session that every
 * later call carries.
 */
public final class PeerConnector {
  private final Identity identity;

  public PeerConnector(Identity identity) {
    this.identity = identity;
  }

  /** A live, authorized connection to a source agent. */
  public static final class PeerConnection implements AutoCloseable {
    private final ManagedChannel managed;
    private final Channel channel;

    PeerConnection(ManagedChannel managed, Channel channel) {
      this.managed = managed;
      this.channel = channel;
    }

    /** The channel to build stubs on; it sends the session token with every call. */
    public Channel channel() {
      return channel;
    }

    @Override
    public void close() {
      managed.shutdownNow();
      try {
        managed.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Connects and redeems the ticket.
   *
   * @throws StatusException with the source's reason if the ticket is refused, or UNAVAILABLE
   */
  public PeerConnection connect(PeerSource source) throws StatusException {
    if (source.getAddress().isBlank() || source.getFingerprint().isBlank() || !source.hasTicket()) {
      throw io.grpc.Status.INVALID_ARGUMENT
          .withDescription("the source's address, fingerprint and ticket are all required")
          .asException();
    }
    ManagedChannel managed;
    try {
      managed =
          NettyChannelBuilder.forTarget(source.getAddress())
              .sslContext(
                  GrpcSslContexts.forClient()
                      .keyManager(identity.privateKey(), identity.certificate())
                      .trustManager(PinnedTrustManager.exactly(source.getFingerprint(), "source agent"))
                      .protocols("TLSv1.3")
                      .build())
              .overrideAuthority("ferry-agent")
              .maxInboundMessageSize(AgentServer.MAX_INBOUND_MESSAGE)
              .keepAliveTime(30, TimeUnit.SECONDS)
              .build();
    } catch (SSLException | IllegalArgumentException e) {
      throw io.grpc.Status.INVALID_ARGUMENT.withDescription("cannot connect to the source: " + e.getMessage()).asException();
    }
    try {
      String token =
          AgentServiceGrpc.newBlockingStub(managed)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .redeemTicket(RedeemTicketRequest.newBuilder().setTicket(source.getTicket()).build())
              .getSessionToken();
      Metadata headers = new Metadata();
      headers.put(AuthInterceptor.SESSION, token);
      return new PeerConnection(
          managed, ClientInterceptors.intercept(managed, MetadataUtils.newAttachHeadersInterceptor(headers)));
    } catch (StatusRuntimeException e) {
      managed.shutdownNow();
      throw new StatusException(
          e.getStatus().withDescription("source agent: " + e.getStatus().getDescription()), e.getTrailers());
    }
  }
}
