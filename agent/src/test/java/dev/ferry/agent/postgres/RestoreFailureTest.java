package dev.ferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.agent.testing.Tmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed restore says the disk is full when it is, whatever words the server found for it. */
class RestoreFailureTest {
  @TempDir Path dir;

  @Test
  void theServersOwnWordsForAFullDiskAreNamed() {
    String message = DatabaseCopier.restoreFailed("mastodon_ferry_staging",
        "pg_restore failed (exit 1): ERROR:  could not extend file \"base/1/2\": No space left on device", dir).getMessage();
    assertTrue(message.startsWith("the target's database disk is full (data directory " + dir), message);
    assertTrue(message.contains("mastodon_ferry_staging, which the next run removes"), message);
  }

  @Test
  void anotherFailureOnADiskWithRoomIsReportedAsItIs() {
    String message = DatabaseCopier.restoreFailed("mastodon_ferry_staging",
        "pg_restore failed (exit 1): ERROR:  role \"x\" does not exist", dir).getMessage();
    assertFalse(message.contains("disk is full"), message);
    assertTrue(message.startsWith("pg_restore failed (exit 1): ERROR:  role \"x\" does not exist."), message);
  }

  /** A backend that cannot write its relcache init file says only that; the free space tells. */
  @Test
  void aFullDataDirectoryIsNamedEvenWhenTheServerDoesNotSaySo() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
    Path data = Files.createDirectory(dir.resolve("data"));
    try (Tmpfs full = Tmpfs.mount(data, "ferry-test-full", "size=1m")) {
      String message = DatabaseCopier.restoreFailed("mastodon_ferry_staging",
          "pg_restore failed (exit 1): connection to server failed: FATAL:  could not write init file", full.path()).getMessage();
      assertTrue(message.startsWith("the target's database disk is full (data directory " + data + ", "), message);
      assertTrue(message.contains("could not write init file"), message);
    }
  }
}
