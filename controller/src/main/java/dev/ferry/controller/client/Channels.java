package dev.ferry.controller.client;

import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * The one place the controller builds channels: mutual TLS 1.3 with a pinned agent fingerprint.
 *
 * <p>The controller is a short-lived CLI, so two choices here are about its start and exit. TLS
 * uses the JDK's provider: the control channel carries little data, and netty's OpenSSL provider
 * would extract and load a native library on every run (about 0.1 s). Each channel has an event
 * loop of its own, ended when the channel is closed: the JVM waits up to 0.3 s at exit for threads
 * that sit in native code, as an idle event loop does in its selector (bench/db-fixed.sh).
 */
public final class Channels {
  static final int MAX_INBOUND_MESSAGE = 2 * 1024 * 1024;
  private static final Map<ManagedChannel, EventLoopGroup> LOOPS = new ConcurrentHashMap<>();

  private Channels() {}

  public static ManagedChannel open(String address, Identity identity, PinnedTrustManager trust) {
    try {
      SslContext tls =
          GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
              .keyManager(identity.privateKey(), identity.certificate())
              .keyStoreType(Identity.TLS_KEY_STORE_TYPE)
              .trustManager(trust)
              .protocols("TLSv1.3")
              .build();
      EventLoopGroup loop = new NioEventLoopGroup(1, new DefaultThreadFactory("ferry-channel", true));
      ManagedChannel channel =
          NettyChannelBuilder.forTarget(address)
              .sslContext(tls)
              .eventLoopGroup(loop)
              .channelType(NioSocketChannel.class)
              // The certificate's name is a label; the pinned fingerprint is what is checked.
              .overrideAuthority("ferry-agent")
              .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
              .keepAliveTime(30, TimeUnit.SECONDS)
              .build();
      LOOPS.put(channel, loop);
      return channel;
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
    } finally {
      endLoop(channel);
    }
  }

  /** Cuts the channel's calls at once and ends its event loop. */
  public static void closeNow(ManagedChannel channel) {
    channel.shutdownNow();
    endLoop(channel);
  }

  private static void endLoop(ManagedChannel channel) {
    EventLoopGroup loop = LOOPS.remove(channel);
    if (loop != null) {
      // No quiet period: the channel is terminated (or cut), nothing more will be scheduled.
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
  }
}
