package dev.ferry.controller.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The progress line of a database copy, in `ferry db copy` and `ferry migrate`. */
class DbProgressTest {
  @Test
  void beforeTheDumpOnlyThePhase() {
    // Was "preflight 0 B" in migrate's output.
    assertEquals("preflight", new DbProgress("preflight", 0, 0, 0, "").describe());
  }

  @Test
  void bytesWhileStreaming() {
    assertEquals("streaming: 12.0 MiB streamed", new DbProgress("streaming", 12L << 20, 0, 0, "").describe());
  }

  @Test
  void bytesAndTablesWhileRestoring() {
    assertEquals("restoring: 1.5 GiB streamed, 40/212 tables",
        new DbProgress("restoring", 3L << 29, 40, 212, "").describe());
  }

  @Test
  void tablesAloneOnceTheStreamIsNotCounted() {
    assertEquals("verifying: 212/212 tables", new DbProgress("verifying", 0, 212, 212, "").describe());
  }
}
