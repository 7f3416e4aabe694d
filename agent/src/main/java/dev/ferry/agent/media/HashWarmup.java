package dev.ferry.agent.media;

import java.security.MessageDigest;
import java.util.logging.Logger;

/**
 * Gets SHA-256 onto the JIT's fast path before the first media transfer. The JDK hashes with
 * the CPU's SHA instructions only once {@code DigestBase.engineUpdate} is compiled by C2; until
 * then it runs the plain Java rounds, several times slower. A media sync calls it once per
 * 256 KiB buffer, so a freshly started agent would hash most of a first copy in the slow path
 * (the bench measured SHA-256 as 70% of the source agent's CPU). Many small updates on a
 * background thread at start-up reach the compile threshold in tens of milliseconds.
 */
public final class HashWarmup {
  private static final Logger logger = Logger.getLogger(HashWarmup.class.getName());
  /** Each update is one 64-byte block: enough calls to reach C2 even with a busy compile queue. */
  private static final int UPDATES = 300_000;

  private HashWarmup() {}

  /** Starts the warm-up on a low-priority daemon thread and returns at once. */
  public static void start() {
    Thread thread = new Thread(HashWarmup::run, "ferry-hash-warmup");
    thread.setDaemon(true);
    thread.setPriority(Thread.MIN_PRIORITY);
    thread.start();
  }

  static void run() {
    long started = System.nanoTime();
    byte[] block = new byte[64];
    MessageDigest digest = AtomicFileWriter.sha256();
    for (int i = 0; i < UPDATES; i++) {
      block[i & 63] = (byte) i;
      digest.update(block, 0, block.length);
      if ((i & 1023) == 1023) {
        digest.digest(); // also warms the finishing path; resets for the next round
      }
    }
    logger.fine(() -> "SHA-256 warm-up took " + (System.nanoTime() - started) / 1_000_000 + " ms");
  }
}
