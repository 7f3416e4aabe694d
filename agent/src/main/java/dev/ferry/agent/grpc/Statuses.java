package dev.ferry.agent.grpc;

import dev.ferry.agent.auth.AccessDeniedException;
import dev.ferry.agent.disk.DiskFull;
import dev.ferry.agent.process.CommandFailedException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place where the agent's exceptions become gRPC statuses. Domain code throws plain
 * exceptions; adapters pass whatever they catch here.
 *
 * <p>Domain packages may define exceptions that carry a status code by implementing {@link
 * HasStatusCode}; they are mapped here as well.
 */
public final class Statuses {
  private static final Logger logger = Logger.getLogger(Statuses.class.getName());

  /** Encoded bytes; well under grpc-java's default 8 KiB limit on a client's received headers. */
  static final int MAX_DESCRIPTION = 2000;

  private Statuses() {}

  /** Implemented by domain exceptions that know which canonical code fits them. */
  public interface HasStatusCode {
    /** One of io.grpc.Status.Code's names, e.g. "FAILED_PRECONDITION". */
    String statusCode();
  }

  /**
   * A description short enough for the trailers. Messages may echo what a caller sent (refused
   * unit names, say); a long one would overflow the client's header limit and turn a clear
   * refusal into an INTERNAL transport error.
   */
  static String bounded(String message) {
    // On the wire, every byte outside printable ASCII is percent-encoded: up to 9 characters for
    // one char of text. Count what the header will really hold.
    int encoded = 0;
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      encoded += c >= 0x20 && c < 0x7f && c != '%' ? 1 : c < 0x80 ? 3 : c < 0x800 ? 6 : 9;
      if (encoded > MAX_DESCRIPTION) {
        return message.substring(0, i) + "... (cut)";
      }
    }
    return message;
  }

  public static StatusException toStatus(Throwable t) {
    if (t instanceof StatusException e) {
      return e;
    }
    if (t instanceof StatusRuntimeException e) {
      return e.getStatus().asException(e.getTrailers());
    }
    Status status;
    if (t instanceof HasStatusCode coded) {
      status = Status.fromCode(Status.Code.valueOf(coded.statusCode()));
    } else if (t instanceof AccessDeniedException) {
      status = Status.PERMISSION_DENIED;
    } else if (t instanceof IllegalArgumentException) {
      status = Status.INVALID_ARGUMENT;
    } else if (t instanceof IllegalStateException) {
      status = Status.FAILED_PRECONDITION;
    } else if (t instanceof NoSuchFileException) {
      status = Status.NOT_FOUND;
    } else if (t instanceof IOException e && DiskFull.says(e.getMessage())) {
      // A full disk and an exhausted quota alike: the same remedy, free space and run again.
      status = Status.RESOURCE_EXHAUSTED;
    } else if (t instanceof CommandFailedException || t instanceof IOException) {
      status = Status.INTERNAL;
    } else {
      logger.log(Level.WARNING, "unexpected failure", t);
      status = Status.INTERNAL;
    }
    String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return status.withDescription(bounded(message)).asException();
  }
}
