package dev.ferry.controller.client;

/** A call to an agent that failed. {@code code} is the gRPC status code's name. */
public final class AgentException extends Exception {
  private final String code;
  private final String host;

  public AgentException(String host, String code, String message, Throwable cause) {
    super(host + ": " + message, cause);
    this.code = code;
    this.host = host;
  }

  public String code() {
    return code;
  }

  public String host() {
    return host;
  }
}
