package dev.ferry.common.ticket;

/** A ticket that must be refused. The message says why, and never holds secret material. */
public final class TicketException extends Exception {
  public TicketException(String message) {
    super(message);
  }
}
