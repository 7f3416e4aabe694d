package dev.ferry.agent.grpc;

import dev.ferry.agent.auth.Authenticator;
import dev.ferry.agent.auth.Caller;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.Operation;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authenticates every call from its TLS session and decides whether the caller may make it.
 * Paired controllers may call everything; a peer agent only the methods its redeemed ticket's
 * operations allow; a stranger only Pair and RedeemTicket.
 */
final class AuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> SESSION =
      Metadata.Key.of("ferry-session", Metadata.ASCII_STRING_MARSHALLER);
  static final Context.Key<Caller> CALLER = Context.key("ferry-caller");
  static final Context.Key<X509Certificate> PEER_CERTIFICATE = Context.key("ferry-peer-certificate");
  private static final Logger logger = Logger.getLogger(AuthInterceptor.class.getName());

  private static final Set<String> OPEN_TO_ANY_CERTIFICATE =
      Set.of(
          AgentServiceGrpc.getPairMethod().getFullMethodName(),
          AgentServiceGrpc.getRedeemTicketMethod().getFullMethodName());

  private final Authenticator authenticator;
  private final Map<String, Operation> peerMethods;

  /** @param peerMethods full method name to the ticket operation that lets a peer call it */
  AuthInterceptor(Authenticator authenticator, Map<String, Operation> peerMethods) {
    this.authenticator = authenticator;
    this.peerMethods = peerMethods;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    X509Certificate certificate = peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (certificate == null) {
      return refuse(call, Status.UNAUTHENTICATED.withDescription("a client certificate is required"));
    }
    Caller caller;
    try {
      caller =
          authenticator.identify(
              dev.ferry.common.identity.Fingerprints.of(certificate), Optional.ofNullable(headers.get(SESSION)));
    } catch (IOException e) {
      return refuse(call, Status.INTERNAL.withDescription("cannot read the agent's trust store: " + e.getMessage()));
    }
    if (!caller.controller() && !OPEN_TO_ANY_CERTIFICATE.contains(method)) {
      Operation needed = peerMethods.get(method);
      if (needed == null || !caller.may(needed)) {
        logger.warning("refused " + method + " for " + caller.fingerprint());
        return refuse(
            call,
            Status.PERMISSION_DENIED.withDescription(
                needed == null
                    ? "this agent is not paired with the caller (fingerprint " + caller.fingerprint() + "); run 'ferry pair'"
                    : "calling " + call.getMethodDescriptor().getBareMethodName() + " needs a ticket allowing " + needed));
      }
    }
    Context context = Context.current().withValue(CALLER, caller).withValue(PEER_CERTIFICATE, certificate);
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static X509Certificate peerCertificate(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x509 ? x509 : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
