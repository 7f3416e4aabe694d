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
    private final java.util.function.Supplier<ManagedChannel> reconnect;
    private final Metadata session;
    private ManagedChannel second;

    PeerConnection(ManagedChannel managed, Metadata session, java.util.function.Supplier<ManagedChannel> reconnect) {
      this.managed = managed;
      this.session = session;
      this.reconnect = reconnect;
      this.channel = withSession(managed);
    }

    private Channel withSession(ManagedChannel channel) {
      return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(session));
    }

    /** The channel to build stubs on; it sends the session token with every call. */
    public Channel channel() {
      return channel;
    }

    /**
     * A second channel on its own TCP connection, in the same session. HTTP/2 flow control is
     * per connection as well as per stream: a stream the caller stops reading for a while (a
     * manifest the target reads only as fast as files arrive) would otherwise hold the whole
     * connection's window and stall a stream it is waiting for.
     */
    public synchronized Channel separateChannel() {
      if (second == null) {
        second = reconnect.get();
      }
      return withSession(second);
    }

    @Override
    public void close() {
      ManagedChannel other;
      synchronized (this) {
        other = second;
      }
      managed.shutdownNow();
      if (other != null) {
        other.shutdownNow();
      }
      try {
        managed.awaitTermination(5, TimeUnit.SECONDS);
        if (other != null) {
          other.awaitTermination(5, TimeUnit.SECONDS);
        }
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
    java.util.function.Supplier<ManagedChannel> opener;
    ManagedChannel managed;
    try {
      io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls =
          GrpcSslContexts.forClient()
              .keyManager(identity.privateKey(), identity.certificate())
              .keyStoreType(Identity.TLS_KEY_STORE_TYPE)
              .trustManager(PinnedTrustManager.exactly(source.getFingerprint(), "source agent"))
              .protocols("TLSv1.3")
              .build();
      opener = () -> NettyChannelBuilder.forTarget(source.getAddress())
          .sslContext(tls)
          .overrideAuthority("ferry-agent")
          .maxInboundMessageSize(AgentServer.MAX_INBOUND_MESSAGE)
          .keepAliveTime(30, TimeUnit.SECONDS)
          .build();
      managed = opener.get();
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
      return new PeerConnection(managed, headers, opener);
    } catch (StatusRuntimeException e) {
      managed.shutdownNow();
      throw new StatusException(
          e.getStatus().withDescription("source agent: " + e.getStatus().getDescription()), e.getTrailers());
    }
  }
}
