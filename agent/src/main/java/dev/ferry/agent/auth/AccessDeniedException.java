package dev.ferry.agent.auth;

/** The caller may not do this. The message is safe to send back: it holds no secret. */
public final class AccessDeniedException extends Exception {
  public AccessDeniedException(String message) {
    super(message);
  }
}
