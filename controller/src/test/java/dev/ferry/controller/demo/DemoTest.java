package dev.ferry.controller.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.controller.testing.TestController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry demo}, the README's main-job command, run as a user runs it: real PostgreSQL
 * clusters, two real agents over mutual TLS on loopback, a real {@code ferry migrate}. Its own
 * checks (rows, media bytes, owners and modes, secrets) must pass, and it must leave nothing
 * behind.
 */
@Timeout(600)
class DemoTest {
  @TempDir Path dir;

  @Test
  void demoMigratesTheSampleInstanceAndCleansUp() throws Exception {
    // JUnit's temp dir is 0700; the demo's postgres and mastodon users must pass through it.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path work = dir.resolve("demo-work");
    boolean hadMastodonUser = userExists("mastodon");
    TestController.Run run = new TestController(dir.resolve("unused-home"))
        .run("demo", "--dir", work.toString(), "--accounts", "40", "--statuses", "400", "--json");

    assertEquals(0, run.exitCode(), run.err());
    JsonObject report = JsonParser.parseString(run.out()).getAsJsonObject();
    assertEquals("complete", report.get("outcome").getAsString(), run.out());
    Map<String, String> states = new HashMap<>();
    Map<String, JsonObject> steps = new HashMap<>();
    report.getAsJsonArray("steps").forEach(e -> {
      JsonObject step = e.getAsJsonObject();
      states.put(step.get("step").getAsString(), step.get("state").getAsString());
      steps.put(step.get("step").getAsString(), step);
    });
    // The data steps ran for real; the service steps say why they were skipped.
    for (String step : new String[] {"preflight", "presync_media", "write_secrets", "copy_database", "final_media"}) {
      assertEquals("done", states.get(step), step + " in " + run.out());
    }
    assertTrue(steps.get("presync_media").get("files").getAsLong() > 100, run.out());
    assertTrue(steps.get("copy_database").get("detail").getAsString().contains("old database kept as mastodon_before_ferry_"));
    for (String step : new String[] {"stop_source", "stop_target", "start_target"}) {
      assertEquals("skipped", states.get(step), step);
      assertTrue(steps.get(step).get("detail").getAsString().contains("systemd is not running"), step);
    }
    assertTrue(report.has("downtime_seconds"), run.out());

    // Demo's own verification of the result, every line of it.
    assertTrue(run.err().contains("[ ok ] database rows and sequences equal"), run.err());
    assertTrue(run.err().contains("[ ok ] media byte-exact"), run.err());
    assertTrue(run.err().contains("[ ok ] media owned mastodon:mastodon"), run.err());
    assertTrue(run.err().contains("[ ok ] secrets carried over"), run.err());
    assertFalse(run.err().contains("[FAIL]"), run.err());

    // Cleaned up: the work directory is gone and no PostgreSQL of the demo still runs.
    assertFalse(Files.exists(work), "demo left " + work);
    Process pgrep = new ProcessBuilder("pgrep", "-f", work.toString()).start();
    assertTrue(pgrep.waitFor(10, TimeUnit.SECONDS));
    assertEquals(1, pgrep.exitValue(), "processes of the demo still run: "
        + new String(pgrep.getInputStream().readAllBytes()));
    // A user the demo had to create is gone again.
    assertEquals(hadMastodonUser, userExists("mastodon"));
  }

  private static boolean userExists(String name) throws Exception {
    Process id = new ProcessBuilder("id", "-u", name).redirectErrorStream(true).start();
    id.getInputStream().readAllBytes();
    return id.waitFor() == 0;
  }
}
