package dev.ferry.agent.grpc;

import dev.ferry.agent.auth.Authenticator;
import dev.ferry.agent.status.StatusCollector;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.proto.v1.Operation;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Owns the agent's gRPC server: TLS 1.3 with a required client certificate, authorization on
 * every call, and the services. Nothing is ever served in plaintext.
 */
public final class AgentServer {
  private static final Logger logger = Logger.getLogger(AgentServer.class.getName());
  // Chunks are at most 1 MiB; leave room for framing, refuse anything larger.
  static final int MAX_INBOUND_MESSAGE = 2 * 1024 * 1024;

  private final Server server;

  private AgentServer(Server server) {
    this.server = server;
  }

  /** What the server serves besides the core AgentService. */
  public record Extension(BindableService service, Map<String, Operation> peerMethods) {}

  public static AgentServer start(
      String host,
      int port,
      Identity identity,
      Authenticator authenticator,
      StatusCollector status,
      String agentVersion,
      dev.ferry.agent.web.WebProbe web,
      List<Extension> extensions)
      throws IOException {
    SslContext tls =
        GrpcSslContexts.configure(SslContextBuilder.forServer(identity.privateKey(), identity.certificate()))
            .keyStoreType(Identity.TLS_KEY_STORE_TYPE)
            .trustManager(PinnedTrustManager.anyWellFormed("client"))
            .clientAuth(ClientAuth.REQUIRE)
            .protocols("TLSv1.3")
            .build();
    Map<String, Operation> peerMethods = new HashMap<>(PeerPolicy.methods());
    List<BindableService> services = new ArrayList<>();
    services.add(new AgentGrpcService(authenticator, status, agentVersion, web));
    for (Extension extension : extensions) {
      services.add(extension.service());
      peerMethods.putAll(extension.peerMethods());
    }
    AuthInterceptor auth = new AuthInterceptor(authenticator, Map.copyOf(peerMethods));
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .sslContext(tls)
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true);
    MalformedRequests malformed = new MalformedRequests();
    for (BindableService service : services) {
      // Authorization first; then requests parsed inside MalformedRequests' reach.
      builder.addService(
          ServerInterceptors.intercept(RequestStreams.of(ServerInterceptors.intercept(service, auth)), malformed));
    }
    Server server = builder.build().start();
    logger.info("serving on " + host + ":" + server.getPort() + " as " + identity.fingerprint());
    return new AgentServer(server);
  }

  public int port() {
    return server.getPort();
  }

  public void stop() throws InterruptedException {
    server.shutdown();
    if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  public void blockUntilShutdown() throws InterruptedException {
    server.awaitTermination();
  }
}
