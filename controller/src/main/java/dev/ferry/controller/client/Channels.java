package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/** The one place the controller builds channels: mutual TLS 1.3 with a pinned agent fingerprint. */
public final class Channels {
  static final int MAX_INBOUND_MESSAGE = 2 * 1024 * 1024;

  private Channels() {}

  public static ManagedChannel open(String address, Identity identity, PinnedTrustManager trust) {
    try {
      SslContext tls =
          GrpcSslContexts.forClient()
              .keyManager(identity.privateKey(), identity.certificate())
              .trustManager(trust)
              .protocols("TLSv1.3")
              .build();
      return NettyChannelBuilder.forTarget(address)
          .sslContext(tls)
          // The certificate's name is a label; the pinned fingerprint is what is checked.
          .overrideAuthority("ferry-agent")
          .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
          .keepAliveTime(30, TimeUnit.SECONDS)
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  public static void close(ManagedChannel channel) {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
