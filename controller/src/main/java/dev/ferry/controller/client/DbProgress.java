package dev.ferry.controller.client;

import dev.ferry.controller.format.Sizes;

/**
 * Where a copy is.
 *
 * @param phase preflight, cleanup, streaming, restoring, verifying or swapping
 * @param note a line for humans, or empty
 */
public record DbProgress(String phase, long bytesStreamed, int tablesRestored, int tablesTotal, String note) {

  /** One line for a person: the phase, then what has moved so far (nothing before the dump starts). */
  public String describe() {
    StringBuilder line = new StringBuilder(phase);
    if (bytesStreamed > 0) {
      line.append(": ").append(Sizes.bytes(bytesStreamed)).append(" streamed");
    }
    if (tablesTotal > 0) {
      line.append(bytesStreamed > 0 ? ", " : ": ").append(tablesRestored).append('/').append(tablesTotal).append(" tables");
    }
    return line.toString();
  }
}
