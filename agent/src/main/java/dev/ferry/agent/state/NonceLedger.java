package dev.ferry.agent.state;

import dev.ferry.common.identity.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Remembers redeemed ticket nonces until their tickets expire, on disk, so a replay is refused
 * even after the agent restarts.
 */
public final class NonceLedger {
  private final Path file;

  NonceLedger(Path file) {
    this.file = file;
  }

  /**
   * Records {@code nonce} as used.
   *
   * @return false if it was already used
   */
  public synchronized boolean redeem(String nonce, long expiresAtMillis, long nowMillis)
      throws IOException {
    Map<String, Long> live = read(nowMillis);
    if (live.containsKey(nonce)) {
      return false;
    }
    live.put(nonce, expiresAtMillis);
    StringBuilder out = new StringBuilder();
    live.forEach((n, e) -> out.append(n).append(' ').append(e).append('\n'));
    Identity.writePrivate(file, out.toString());
    return true;
  }

  private Map<String, Long> read(long nowMillis) throws IOException {
    Map<String, Long> live = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(file)) {
        String[] parts = line.split(" ");
        if (parts.length == 2 && Long.parseLong(parts[1]) > nowMillis) {
          live.put(parts[0], Long.parseLong(parts[1]));
        }
      }
    } catch (NoSuchFileException e) {
      // Nothing redeemed yet.
    }
    return live;
  }
}
