package dev.ferry.controller.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.testing.SystemdContainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The link between the hosts is cut for some seconds while the pre-sync streams a large file:
 * the migration either rides it out or fails and resumes, and either way ends complete and
 * verified, with the source's data unchanged and no partial file under a real name.
 */
@Timeout(900)
class LinkCutE2eTest {
  private static final Duration STEP = Duration.ofMinutes(2);
  private static final Duration CLI = Duration.ofMinutes(8);
  private static final String SOURCE_MEDIA = "/home/mastodon/live/public/system";
  private static final String TARGET_MEDIA = "/var/lib/mastodon/public-system";
  private static final String BIG_FILE = "media_attachments/files/000/000/998/original/long-video.mp4";
  private static final long BIG_BYTES = 300L << 20;

  @TempDir Path dir;

  @Test
  void aLinkCutMidTransferEndsInACompleteVerifiedMigration() throws Exception {
    try (TwoHostLab lab = TwoHostLab.start(dir)) {
      SystemdContainer ubuntu = lab.ubuntu;
      SystemdContainer nixos = lab.nixos;
      ubuntu.check(STEP, "install", "-d", "-o", "mastodon", "-g", "mastodon",
          SOURCE_MEDIA + "/" + Path.of(BIG_FILE).getParent());
      ubuntu.check(STEP, "sh", "-c", "head -c " + BIG_BYTES + " /dev/urandom > " + SOURCE_MEDIA + "/" + BIG_FILE
          + " && chown mastodon:mastodon " + SOURCE_MEDIA + "/" + BIG_FILE);
      Map<String, String> sourceMedia = MigrationE2eTest.checksums(ubuntu.hostPath(SOURCE_MEDIA));
      Map<String, String> sourceDb = MigrationE2eTest.databaseSnapshot(ubuntu, "mastodon_production");

      Process migrate = lab.startFerry("migrate", "--from", "ubuntu", "--to", "nixos", "--yes", "--json");
      MigrationE2eTest.awaitPartial(nixos.hostPath(TARGET_MEDIA + "/" + BIG_FILE), migrate);
      lab.cutUbuntuLink(Duration.ofSeconds(8));
      assertTrue(migrate.waitFor(CLI.toMillis(), TimeUnit.MILLISECONDS), "migrate hung after the link came back");
      String out = Files.readString(lab.ferryHome.resolveSibling("out.txt"));
      String err = Files.readString(lab.ferryHome.resolveSibling("err.txt"));
      int resumes = 0;
      if (migrate.exitValue() != 0) {
        // The cut failed a step: that is allowed, if it says so and a resume completes.
        assertEquals(1, migrate.exitValue(), err);
        assertTrue(err.contains("--resume"), err);
        TwoHostLab.Ferry resumed = lab.ferry(CLI, "migrate", "--from", "ubuntu", "--to", "nixos", "--resume", "--yes", "--json");
        assertEquals(0, resumed.exitCode(), resumed.out() + resumed.err());
        out = resumed.out();
        resumes = 1;
      }
      System.out.println("link cut for 8 s during the pre-sync; resumes needed: " + resumes);
      JsonObject report = JsonParser.parseString(out).getAsJsonObject();
      assertEquals("complete", report.get("outcome").getAsString(), out);

      assertEquals(sourceMedia, MigrationE2eTest.checksums(nixos.hostPath(TARGET_MEDIA)));
      assertEquals("", nixos.check(STEP, "find", TARGET_MEDIA, "-name", "*.ferry-part").stdout().strip());
      assertEquals(sourceDb, MigrationE2eTest.databaseSnapshot(nixos, "mastodon"));
      assertEquals(sourceMedia, MigrationE2eTest.checksums(ubuntu.hostPath(SOURCE_MEDIA)), "the source's media changed");
      assertEquals(sourceDb, MigrationE2eTest.databaseSnapshot(ubuntu, "mastodon_production"));
      assertEquals("active", nixos.exec(STEP, "systemctl", "is-active", "mastodon-web").stdout().strip());
    }
  }
}
