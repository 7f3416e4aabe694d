package dev.ferry.agent.state;

import dev.ferry.common.identity.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The one pending pairing code. {@code ferry-agent init} writes it; the running daemon reads it
 * at each Pair call and deletes it on success or after too many wrong proofs, so it works once.
 */
public final class PairingCodes {
  /** 12 characters from a 32-letter alphabet: 60 bits, shown as XXXX-XXXX-XXXX. */
  private static final String ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

  private static final int LENGTH = 12;
  static final int MAX_FAILURES = 5;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path file;

  PairingCodes(Path file) {
    this.file = file;
  }

  /** A pending code, as stored. */
  public record Pending(String code, Instant expiresAt, int failures) {}

  /** Creates a new code, replacing any pending one, and returns it in display form. */
  public synchronized String create(Duration ttl, Clock clock) throws IOException {
    StringBuilder code = new StringBuilder();
    for (int i = 0; i < LENGTH; i++) {
      code.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    write(new Pending(code.toString(), clock.instant().plus(ttl), 0));
    return code.substring(0, 4) + "-" + code.substring(4, 8) + "-" + code.substring(8);
  }

  public synchronized Optional<Pending> pending() throws IOException {
    try {
      List<String> lines = Files.readAllLines(file);
      if (lines.size() < 3) {
        return Optional.empty();
      }
      return Optional.of(
          new Pending(
              lines.get(0), Instant.ofEpochMilli(Long.parseLong(lines.get(1))), Integer.parseInt(lines.get(2))));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (NumberFormatException e) {
      throw new IOException(file + " is corrupt; run ferry-agent init again");
    }
  }

  /** Marks the code used: it can never pair again. */
  public synchronized void consume() throws IOException {
    Files.deleteIfExists(file);
  }

  /** Counts a wrong proof; the code is dropped after {@value #MAX_FAILURES} of them. */
  public synchronized boolean recordFailure(Pending pending) throws IOException {
    int failures = pending.failures() + 1;
    if (failures >= MAX_FAILURES) {
      consume();
      return true;
    }
    write(new Pending(pending.code(), pending.expiresAt(), failures));
    return false;
  }

  private void write(Pending pending) throws IOException {
    Identity.writePrivate(
        file, pending.code() + "\n" + pending.expiresAt().toEpochMilli() + "\n" + pending.failures() + "\n");
  }
}
