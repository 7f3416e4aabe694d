package dev.ferry.controller.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.testing.SystemdContainer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user's whole job on two systemd hosts: the real controller in its own network namespace,
 * real agents under systemd in an Ubuntu-shaped and a NixOS-shaped container, real PostgreSQL
 * in each, stand-in Mastodon units. A refused plan changes nothing; a migration whose source
 * agent is killed mid-transfer resumes to a complete, verified target without touching the
 * source's data; a rollback brings the source back.
 */
@Timeout(1200)
class MigrationE2eTest {
  private static final Duration STEP = Duration.ofMinutes(2);
  private static final Duration CLI = Duration.ofMinutes(8);
  private static final String SOURCE_MEDIA = "/home/mastodon/live/public/system";
  private static final String TARGET_MEDIA = "/var/lib/mastodon/public-system";
  private static final String BIG_FILE = "media_attachments/files/000/000/999/original/long-video.mp4";
  private static final long BIG_BYTES = 400L << 20;
  private static final List<String> SOURCE_UNITS = List.of("mastodon-web", "mastodon-sidekiq", "mastodon-streaming");
  private static final List<String> TARGET_UNITS = List.of("mastodon-web", "mastodon-sidekiq-all", "mastodon-streaming-1");

  @TempDir Path dir;

  @Test
  void planThenMigrateCutMidwayResumesCompleteThenRollsBack() throws Exception {
    try (TwoHostLab lab = TwoHostLab.start(dir)) {
      SystemdContainer ubuntu = lab.ubuntu;
      SystemdContainer nixos = lab.nixos;
      // A large video, uploaded while the pre-sync runs: the final delta must carry it, and the
      // source agent is killed while it streams. It waits outside the media root until then.
      String staged = "/home/mastodon/upload-in-progress.mp4";
      ubuntu.check(STEP, "install", "-d", "-o", "mastodon", "-g", "mastodon",
          SOURCE_MEDIA + "/" + Path.of(BIG_FILE).getParent());
      ubuntu.check(STEP, "sh", "-c", "head -c " + BIG_BYTES + " /dev/urandom > " + staged
          + " && chown mastodon:mastodon " + staged);
      Map<String, String> sourceMedia = checksums(ubuntu.hostPath(SOURCE_MEDIA));
      sourceMedia.put(BIG_FILE, sha256(ubuntu.hostPath(staged)));
      Map<String, String> sourceDb = databaseSnapshot(ubuntu, "mastodon_production");
      // Redis on both, for --with-redis: the source's keys must end up in the target's Redis.
      lab.setUpRedis();
      TwoHostLab.redisCli(ubuntu, 6379, "SET", "ferry:timeline", "home feed of 42");
      TwoHostLab.redisCli(nixos, TwoHostLab.NIXOS_REDIS_PORT, "SET", "ferry:target-only", "old");
      Map<String, String> sourceEnv = TwoHostLab.env(ubuntu.hostPath("/home/mastodon/live/.env.production"));

      planRefusesADifferentDomainAndChangesNothing(lab);

      TwoHostLab.Ferry plan = lab.ferry(CLI, "plan", "--from", "ubuntu", "--to", "nixos");
      assertEquals(0, plan.exitCode(), plan.out() + plan.err());
      assertTrue(plan.out().contains("Estimated downtime"), plan.out());
      assertTrue(plan.out().contains("media pre-sync"), plan.out());

      // --- cut: SIGKILL the source agent while the final delta streams the large file ------------
      Process migrate = lab.startFerry("migrate", "--from", "ubuntu", "--to", "nixos", "--yes", "--json", "--with-redis");
      awaitStep(lab, migrate, "PRESYNC_MEDIA", "DONE");
      ubuntu.check(STEP, "mv", staged, SOURCE_MEDIA + "/" + BIG_FILE);
      Path partial = awaitPartial(nixos.hostPath(TARGET_MEDIA + "/" + BIG_FILE), migrate);
      String agentPid = ubuntu.check(STEP, "systemctl", "show", "-p", "MainPID", "--value", "ferry-agent").stdout().strip();
      ubuntu.check(STEP, "kill", "-KILL", agentPid);
      assertTrue(migrate.waitFor(CLI.toMillis(), TimeUnit.MILLISECONDS), "migrate did not end after the cut");
      String cutErr = Files.readString(lab.ferryHome.resolveSibling("err.txt"));
      assertEquals(1, migrate.exitValue(), cutErr);
      assertTrue(cutErr.contains("--resume"), cutErr);
      JsonObject cut = journal(lab);
      assertEquals("FAILED", step(cut, "FINAL_MEDIA").get("state").getAsString(), cut.toString());
      assertEquals("DONE", step(cut, "COPY_DATABASE").get("state").getAsString(), cut.toString());
      // Down on both sides meanwhile; the big file is not visible under its real name.
      for (String unit : SOURCE_UNITS) {
        assertEquals("inactive", isActive(ubuntu, unit), unit);
      }
      assertFalse(Files.exists(nixos.hostPath(TARGET_MEDIA + "/" + BIG_FILE)), "a partial file under its real name");
      assertTrue(Files.exists(partial), "the partial copy should wait for the resume");

      // systemd brings the agent back (Restart=on-failure); the migration continues from there.
      assertTrue(ubuntu.waitForUnit("ferry-agent.service", "active", Duration.ofSeconds(60)), "agent not restarted");
      TwoHostLab.Ferry resumed = resumeUntilDone(lab);
      assertEquals(0, resumed.exitCode(), resumed.out() + resumed.err());
      assertTrue(resumed.err().contains("resuming migration"), resumed.err());
      JsonObject report = JsonParser.parseString(resumed.out()).getAsJsonObject();
      assertEquals("complete", report.get("outcome").getAsString(), resumed.out());
      assertTrue(step(report, "final_media").get("detail").getAsString().contains("1 resumed"), resumed.out());
      // Only the rest of the cut file (and at most a bounded tail again) went on the resume.
      long resentBytes = step(report, "final_media").get("bytes").getAsLong();
      assertTrue(resentBytes < BIG_BYTES - (4L << 20), "re-sent " + resentBytes + " bytes of a " + BIG_BYTES + "-byte file");
      for (String s : List.of("preflight", "presync_media", "stop_target", "write_secrets", "stop_source",
          "copy_database", "final_media", "redis", "start_target", "feeds_build", "smoke_test")) {
        assertEquals("done", step(report, s).get("state").getAsString(), s + ": " + resumed.out());
      }
      assertEquals("done", step(report, "redis").get("state").getAsString(), resumed.out());
      assertEquals("home feed of 42", TwoHostLab.redisCli(nixos, TwoHostLab.NIXOS_REDIS_PORT, "GET", "ferry:timeline"));
      assertEquals("0", TwoHostLab.redisCli(nixos, TwoHostLab.NIXOS_REDIS_PORT, "EXISTS", "ferry:target-only"));
      assertTrue(report.get("downtime_seconds").getAsDouble() > 0, resumed.out());
      assertTrue(Files.readString(Path.of(report.get("timeline_svg").getAsString())).contains("<svg"));

      // --- the target is complete and verified ---------------------------------------------------
      assertEquals(sourceMedia, checksums(nixos.hostPath(TARGET_MEDIA)), "target media differ from the source's");
      assertEquals("", nixos.check(STEP, "find", TARGET_MEDIA, "(", "-type", "f", "!", "-perm", "0640", ")", "-o",
          "(", "-type", "d", "!", "-perm", "0750", ")", "-o", "!", "-user", "mastodon", "-o", "!", "-group", "mastodon")
          .stdout().strip(), "NixOS owner and modes");
      assertEquals("", nixos.check(STEP, "find", TARGET_MEDIA, "-name", "*.ferry-part").stdout().strip());
      assertEquals(sourceDb, databaseSnapshot(nixos, "mastodon"), "target database differs from the source's");
      String setAside = TwoHostLab.query(nixos, "postgres",
          "SELECT datname FROM pg_database WHERE datname LIKE 'mastodon_before_ferry_%'");
      assertTrue(setAside.startsWith("mastodon_before_ferry_") && !setAside.contains("\n"), setAside);
      assertEquals("20240101000000", TwoHostLab.query(nixos, setAside, "SELECT version FROM schema_migrations"),
          "the old target database must be kept as it was");
      assertEquals(sourceEnv.get("SECRET_KEY_BASE"),
          Files.readString(nixos.hostPath("/var/lib/mastodon/secrets/secret-key-base")).strip());
      assertEquals("mastodon 600", nixos.check(STEP, "stat", "-c", "%U %a", "/var/lib/mastodon/secrets/otp-secret")
          .stdout().strip());
      Map<String, String> secretsEnv = TwoHostLab.env(nixos.hostPath("/var/lib/mastodon/.secrets_env"));
      for (String key : List.of("SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY")) {
        assertEquals(sourceEnv.get(key), secretsEnv.get(key), key + " as the target's units load it");
        assertFalse(resumed.out().contains(sourceEnv.get(key)) || resumed.err().contains(sourceEnv.get(key)), key + " leaked");
      }
      for (String unit : SOURCE_UNITS) {
        assertEquals("inactive", isActive(ubuntu, unit), "source " + unit);
      }
      for (String unit : TARGET_UNITS) {
        assertEquals("active", isActive(nixos, unit), "target " + unit);
      }
      assertTrue(Files.readString(nixos.hostPath("/var/log/tootctl-standin.log")).contains("feeds build"));

      // --- the source's data is exactly what it was ----------------------------------------------
      assertEquals(sourceMedia, checksums(ubuntu.hostPath(SOURCE_MEDIA)), "the source's media changed");
      assertEquals(sourceDb, databaseSnapshot(ubuntu, "mastodon_production"), "the source's database changed");
      assertEquals(sourceEnv, TwoHostLab.env(ubuntu.hostPath("/home/mastodon/live/.env.production")));

      // --- rollback: the user abandons the new host ---------------------------------------------
      TwoHostLab.Ferry rollback = lab.ferry(CLI, "rollback", "--from", "ubuntu", "--to", "nixos");
      assertEquals(0, rollback.exitCode(), rollback.out() + rollback.err());
      assertTrue(rollback.out().contains("target nixos: stopped"), rollback.out());
      assertTrue(rollback.out().contains("source ubuntu: started"), rollback.out());
      for (String unit : SOURCE_UNITS) {
        assertEquals("active", isActive(ubuntu, unit), "source " + unit + " after rollback");
      }
      for (String unit : TARGET_UNITS) {
        assertEquals("inactive", isActive(nixos, unit), "target " + unit + " after rollback");
      }
      assertEquals(sourceDb, databaseSnapshot(ubuntu, "mastodon_production"));
    }
  }

  /** A target whose LOCAL_DOMAIN differs: exit 3, the fix named, no unit touched. */
  private static void planRefusesADifferentDomainAndChangesNothing(TwoHostLab lab) throws Exception {
    SystemdContainer nixos = lab.nixos;
    Map<String, String> before = unitStates(lab);
    nixos.writeFile("/etc/systemd/system/mastodon-web.service.d/domain.conf",
        "[Service]\nEnvironment=LOCAL_DOMAIN=other.example\n", "rw-r--r--");
    nixos.check(STEP, "systemctl", "daemon-reload");
    try {
      TwoHostLab.Ferry plan = lab.ferry(CLI, "plan", "--from", "ubuntu", "--to", "nixos");
      assertEquals(3, plan.exitCode(), plan.out() + plan.err());
      assertTrue(plan.out().contains("[FAIL] same LOCAL_DOMAIN/WEB_DOMAIN"), plan.out());
      assertTrue(plan.out().contains("services.mastodon.localDomain = \"" + TwoHostLab.DOMAIN + "\""), plan.out());
      TwoHostLab.Ferry migrate = lab.ferry(CLI, "migrate", "--from", "ubuntu", "--to", "nixos", "--yes");
      assertEquals(3, migrate.exitCode(), migrate.out() + migrate.err());
      assertEquals(before, unitStates(lab), "a refused migration must not touch a unit");
    } finally {
      Files.delete(nixos.hostPath("/etc/systemd/system/mastodon-web.service.d/domain.conf"));
      nixos.check(STEP, "systemctl", "daemon-reload");
    }
  }

  private static Map<String, String> unitStates(TwoHostLab lab) throws IOException {
    Map<String, String> states = new TreeMap<>();
    for (String unit : SOURCE_UNITS) {
      states.put("ubuntu " + unit, isActive(lab.ubuntu, unit));
    }
    for (String unit : TARGET_UNITS) {
      states.put("nixos " + unit, isActive(lab.nixos, unit));
    }
    return states;
  }

  /** Waits until the target holds more than the resume tail of {@code file}'s partial copy. */
  static Path awaitPartial(Path file, Process migrate) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < deadline && migrate.isAlive()) {
      try (Stream<Path> siblings = Files.exists(file.getParent()) ? Files.list(file.getParent()) : Stream.empty()) {
        for (Path p : siblings.toList()) {
          String name = p.getFileName().toString();
          if (name.startsWith("." + file.getFileName()) && name.endsWith(".ferry-part") && Files.size(p) > (8L << 20)) {
            return p;
          }
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no partial copy of " + file + " appeared while the pre-sync ran");
  }

  /** Polls the newest journal until {@code step} reaches {@code state}. */
  private static void awaitStep(TwoHostLab lab, Process migrate, String step, String state) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < deadline && migrate.isAlive()) {
      try {
        if (state.equals(step(journal(lab), step).get("state").getAsString())) {
          return;
        }
      } catch (IOException | RuntimeException e) {
        // Not written yet, or caught mid-write: look again.
      }
      Thread.sleep(20);
    }
    throw new AssertionError(step + " did not reach " + state + ": " + Files.readString(lab.ferryHome.resolveSibling("err.txt")));
  }

  /** {@code --resume} until the migration completes; at most a few times (a peer may still be coming back). */
  private static TwoHostLab.Ferry resumeUntilDone(TwoHostLab lab) throws Exception {
    TwoHostLab.Ferry run = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      run = lab.ferry(CLI, "migrate", "--from", "ubuntu", "--to", "nixos", "--resume", "--yes", "--json");
      if (run.exitCode() == 0) {
        return run;
      }
      Thread.sleep(5000);
    }
    return run;
  }

  private static JsonObject journal(TwoHostLab lab) throws IOException {
    try (Stream<Path> dirs = Files.list(lab.ferryHome.resolve("migrations"))) {
      // Ids start with their creation time: the newest sorts last.
      Path journal = dirs.map(d -> d.resolve("journal.json")).filter(Files::exists).max(Path::compareTo).orElseThrow();
      return JsonParser.parseString(Files.readString(journal)).getAsJsonObject();
    }
  }

  /** One step of a journal (steps keyed by name) or of a --json report (a list of steps). */
  private static JsonObject step(JsonObject doc, String name) {
    if (doc.get("steps").isJsonObject()) {
      return doc.getAsJsonObject("steps").getAsJsonObject(name);
    }
    for (var e : doc.getAsJsonArray("steps")) {
      if (e.getAsJsonObject().get("step").getAsString().equals(name)) {
        return e.getAsJsonObject();
      }
    }
    throw new AssertionError("no step " + name + " in " + doc);
  }

  private static String isActive(SystemdContainer box, String unit) throws IOException {
    return box.exec(STEP, "systemctl", "is-active", unit).stdout().strip();
  }

  /** Every regular file under {@code root} by relative path, with its SHA-256. */
  static Map<String, String> checksums(Path root) throws Exception {
    Map<String, String> sums = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        sums.put(root.relativize(file).toString(), sha256(file));
      }
    }
    return sums;
  }

  static String sha256(Path file) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Row count and an md5 of the content of every table, and every sequence's last value. */
  static Map<String, String> databaseSnapshot(SystemdContainer box, String db) throws IOException {
    Map<String, String> snapshot = new TreeMap<>();
    String tables = TwoHostLab.query(box, db,
        "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public'"
            + " AND table_type = 'BASE TABLE' ORDER BY 1");
    for (String table : tables.lines().toList()) {
      snapshot.put("table " + table, TwoHostLab.query(box, db,
          "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM " + table + " t"));
    }
    for (String line : TwoHostLab.query(box, db,
        "SELECT sequencename || '=' || coalesce(last_value::text, 'null') FROM pg_sequences ORDER BY 1").lines().toList()) {
      snapshot.put("sequence " + line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
    }
    assertFalse(snapshot.isEmpty(), "no tables in " + db);
    return snapshot;
  }
}
