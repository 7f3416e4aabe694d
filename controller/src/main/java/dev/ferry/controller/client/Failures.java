package dev.ferry.controller.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import javax.net.ssl.SSLException;

/** Turns gRPC failures into messages that say what to check. */
final class Failures {
  /** How a target agent prefixes the errors of the source agent it pulls from. */
  private static final String PEER_PREFIX = "source agent:";

  private Failures() {}

  static AgentException of(String host, StatusRuntimeException e) {
    Status status = e.getStatus();
    String message = status.getDescription() == null ? status.getCode().toString() : status.getDescription();
    if (status.getCode() == Status.Code.UNAVAILABLE && message.startsWith(PEER_PREFIX)) {
      // The agent answered; it is its peer, the source it pulls from, that went away.
      message = "lost the source agent: " + message.substring(PEER_PREFIX.length()).strip()
          + " (the source's ferry-agent stopped or the link between the two hosts broke; once it is back,"
          + " run the command again: it continues where it stopped)";
    } else if (status.getCode() == Status.Code.UNAVAILABLE) {
      Throwable cause = rootCause(e);
      if (cause instanceof java.security.cert.CertificateException || cause instanceof SSLException) {
        message =
            "TLS handshake failed: " + cause.getMessage()
                + " (a different agent answered at this address, or the agent was re-initialised: check the fingerprint and pair again)";
      } else {
        message = "cannot reach the agent: " + message + " (is ferry-agent running, and the address and firewall right?)";
      }
    }
    return new AgentException(host, status.getCode().name(), message, e);
  }

  private static Throwable rootCause(Throwable t) {
    Throwable cause = t;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
      if (cause instanceof java.security.cert.CertificateException) {
        return cause;
      }
    }
    return cause;
  }
}
