package dev.ferry.controller.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.testing.SystemdContainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host commands end to end: the real controller CLI in its own network namespace talks gRPC
 * over the veth bridge to real agents running under systemd in two containers ({@link
 * TwoHostLab}). One lab serves the whole class (booting it costs far more than the tests); each
 * test sets up the state it needs instead of relying on test order.
 */
@Timeout(900)
class HostControlE2eTest {
  private static final Duration CLI = Duration.ofMinutes(3);
  private static final Duration STEP = Duration.ofSeconds(60);
  private static final List<String> UBUNTU_UNITS = List.of("mastodon-web", "mastodon-sidekiq", "mastodon-streaming");

  @TempDir static Path dir;
  private static TwoHostLab lab;

  @BeforeAll
  static void startLab() throws Exception {
    lab = TwoHostLab.start(dir);
  }

  @AfterAll
  static void stopLab() {
    if (lab != null) {
      lab.close();
    }
  }

  // --- ferry service ---------------------------------------------------------------------------

  @Test
  void serviceStopStartRestartStatusActOnRealUnitsIdempotently() throws Exception {
    SystemdContainer box = lab.ubuntu;
    box.check(STEP, "systemctl", "start", "mastodon-web", "mastodon-sidekiq", "mastodon-streaming");

    TwoHostLab.Ferry status = service("status");
    assertEquals(0, status.exitCode(), status.err());
    assertEquals(states("active", "active", "active"), rows(status.out()));

    TwoHostLab.Ferry stop = service("stop");
    assertEquals(0, stop.exitCode(), stop.err());
    assertEquals(states("inactive", "inactive", "inactive"), rows(stop.out()));
    for (String unit : UBUNTU_UNITS) {
      assertEquals("inactive", isActive(box, unit), unit + " after ferry service stop");
    }

    // Stopping what is stopped is not an error and changes nothing.
    TwoHostLab.Ferry stopAgain = service("stop");
    assertEquals(0, stopAgain.exitCode(), stopAgain.err());
    assertEquals(states("inactive", "inactive", "inactive"), rows(stopAgain.out()));

    // Named units: only those are touched.
    TwoHostLab.Ferry startWeb = service("start", "mastodon-web.service");
    assertEquals(0, startWeb.exitCode(), startWeb.err());
    assertEquals(Map.of("mastodon-web", "active"), rows(startWeb.out()));
    assertEquals("active", isActive(box, "mastodon-web"));
    assertEquals("inactive", isActive(box, "mastodon-sidekiq"));

    TwoHostLab.Ferry start = service("start");
    assertEquals(0, start.exitCode(), start.err());
    assertEquals(states("active", "active", "active"), rows(start.out()));
    String webPid = mainPid(box, "mastodon-web");

    // Starting what runs is not an error and leaves the process alone.
    TwoHostLab.Ferry startAgain = service("start");
    assertEquals(0, startAgain.exitCode(), startAgain.err());
    assertEquals(states("active", "active", "active"), rows(startAgain.out()));
    assertEquals(webPid, mainPid(box, "mastodon-web"), "a second start must not restart mastodon-web");

    TwoHostLab.Ferry restart = service("restart", "mastodon-web");
    assertEquals(0, restart.exitCode(), restart.err());
    assertEquals(Map.of("mastodon-web", "active"), rows(restart.out()));
    assertNotEquals(webPid, mainPid(box, "mastodon-web"), "restart must give mastodon-web a new process");
  }

  @Test
  void serviceRefusesUnitsOutsideTheAllowlistAndDoesNothing() throws Exception {
    SystemdContainer box = lab.ubuntu;
    box.check(STEP, "systemctl", "start", "mastodon-web");
    String webPid = mainPid(box, "mastodon-web");

    // One refused name refuses the whole request: mastodon-web must keep running.
    TwoHostLab.Ferry refused = service("stop", "mastodon-web", "ferry-agent.service");
    assertEquals(2, refused.exitCode(), refused.out() + refused.err());
    assertTrue(refused.err().contains("refused unit ferry-agent.service"), refused.err());
    assertTrue(refused.err().contains("nothing was done"), refused.err());
    assertEquals("", refused.out());
    assertEquals("active", isActive(box, "mastodon-web"));
    assertEquals(webPid, mainPid(box, "mastodon-web"));
    assertEquals("active", isActive(box, "ferry-agent"));

    // Not even a unit name: refused without echoing the raw bytes back.
    TwoHostLab.Ferry odd = service("status", "../../etc/passwd;reboot");
    assertEquals(2, odd.exitCode(), odd.out() + odd.err());
    assertTrue(odd.err().contains("refused unit '../../etc/passwd;reboot'"), odd.err());
  }

  private static TwoHostLab.Ferry service(String... args) throws Exception {
    return lab.ferry(CLI, Stream.concat(Stream.of("service", "ubuntu"), Stream.of(args)).toArray(String[]::new));
  }

  private static Map<String, String> states(String web, String sidekiq, String streaming) {
    Map<String, String> states = new LinkedHashMap<>();
    states.put("mastodon-web", web);
    states.put("mastodon-sidekiq", sidekiq);
    states.put("mastodon-streaming", streaming);
    return states;
  }

  /** The UNIT and STATE columns of {@code ferry service}'s table, in printed order. */
  private static Map<String, String> rows(String out) {
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    assertTrue(lines.get(0).startsWith("UNIT"), out);
    Map<String, String> rows = new LinkedHashMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] cells = line.split("\\s{2,}");
      rows.put(cells[0], cells[1]);
    }
    return rows;
  }

  private static String isActive(SystemdContainer box, String unit) throws IOException {
    return box.exec(STEP, "systemctl", "is-active", unit).stdout().strip();
  }

  private static String mainPid(SystemdContainer box, String unit) throws IOException {
    return box.check(STEP, "systemctl", "show", "-p", "MainPID", "--value", unit).stdout().strip();
  }

  // --- ferry secrets copy onto the NixOS layout -------------------------------------------------

  @Test
  void secretsCopyRestartsInitDirsSoSecretsEnvHoldsTheCopiedValues() throws Exception {
    SystemdContainer nixos = lab.nixos;
    Map<String, String> source = TwoHostLab.env(lab.ubuntu.hostPath("/home/mastodon/live/.env.production"));
    // As on a NixOS host booted before the migration: init-dirs generated secrets of its own.
    nixos.check(STEP, "systemctl", "start", "mastodon-init-dirs");
    Path secretsEnv = nixos.hostPath("/var/lib/mastodon/.secrets_env");
    Map<String, String> generated = TwoHostLab.env(secretsEnv);
    assertNotEquals(source.get("SECRET_KEY_BASE"), generated.get("SECRET_KEY_BASE"));
    String startedBefore = property(nixos, "mastodon-init-dirs", "ExecMainStartTimestampMonotonic");

    TwoHostLab.Ferry copy = lab.ferry(CLI, "secrets", "copy", "--from", "ubuntu", "--to", "nixos");
    assertEquals(0, copy.exitCode(), copy.out() + copy.err());
    assertTrue(copy.out().contains("mastodon-init-dirs: restarted mastodon-init-dirs: active"), copy.out());
    assertNotEquals(startedBefore, property(nixos, "mastodon-init-dirs", "ExecMainStartTimestampMonotonic"),
        "mastodon-init-dirs must have run again");

    // .secrets_env is written only by the init-dirs stand-in, so these values prove it re-ran
    // on the copied files and generated nothing.
    Map<String, String> rebuilt = TwoHostLab.env(secretsEnv);
    for (String key : List.of("SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
        "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
        "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY")) {
      assertEquals(source.get(key), rebuilt.get(key), key + " in .secrets_env must be the source's value");
      // Values never reach the output.
      assertFalse(copy.out().contains(source.get(key)) || copy.err().contains(source.get(key)), key + " leaked");
    }
    assertEquals("mastodon 600", stat(nixos, "/var/lib/mastodon/secrets/secret-key-base"));
    // The rebuilt .secrets_env still loads as the EnvironmentFile= of a Mastodon unit.
    nixos.check(STEP, "systemctl", "restart", "mastodon-web");
    assertEquals("active", isActive(nixos, "mastodon-web"));
  }

  private static String property(SystemdContainer box, String unit, String name) throws IOException {
    return box.check(STEP, "systemctl", "show", "-p", name, "--value", unit).stdout().strip();
  }

  private static String stat(SystemdContainer box, String path) throws IOException {
    return box.check(STEP, "stat", "-c", "%U %a", path).stdout().strip();
  }

  // --- ferry redis copy ------------------------------------------------------------------------

  private static final String SOURCE_DUMP = "/var/lib/redis/dump.rdb";
  private static final String TARGET_DUMP = "/var/lib/redis-mastodon/dump.rdb";

  @Test
  void redisCopyMovesTheDumpOnlyBetweenStoppedRedisesOfCompatibleVersions() throws Exception {
    lab.setUpRedis();
    SystemdContainer ubuntu = lab.ubuntu;
    SystemdContainer nixos = lab.nixos;
    int port = TwoHostLab.NIXOS_REDIS_PORT;
    TwoHostLab.redisCli(ubuntu, 6379, "SET", "ferry:greeting", "hello from ubuntu");
    TwoHostLab.redisCli(ubuntu, 6379, "RPUSH", "ferry:list", "a", "b", "c");
    TwoHostLab.redisCli(ubuntu, 6379, "HSET", "ferry:hash", "field", "42");
    assertEquals("OK", TwoHostLab.redisCli(ubuntu, 6379, "SAVE"));
    // The target already has a dump of its own: ferry must keep it aside, not lose it.
    TwoHostLab.redisCli(nixos, port, "SET", "ferry:target-only", "old");
    assertEquals("OK", TwoHostLab.redisCli(nixos, port, "SAVE"));

    // Refused while the target's Redis runs (the source's is stopped already).
    ubuntu.check(STEP, "systemctl", "stop", "redis-server");
    byte[] targetBefore = Files.readAllBytes(nixos.hostPath(TARGET_DUMP));
    TwoHostLab.Ferry targetRunning = redisCopy();
    assertEquals(1, targetRunning.exitCode(), targetRunning.out() + targetRunning.err());
    assertTrue(targetRunning.err().contains("redis-mastodon is running; stop it first"), targetRunning.err());
    assertUntouched(nixos, targetBefore);

    // Refused while the source's Redis runs: it could write its own dump over the one read.
    nixos.check(STEP, "systemctl", "stop", "redis-mastodon");
    // Stopping saved the target's dump once more; compare against what is there now.
    targetBefore = Files.readAllBytes(nixos.hostPath(TARGET_DUMP));
    ubuntu.check(STEP, "systemctl", "start", "redis-server");
    TwoHostLab.awaitRedis(ubuntu, 6379);
    TwoHostLab.Ferry sourceRunning = redisCopy();
    assertEquals(1, sourceRunning.exitCode(), sourceRunning.out() + sourceRunning.err());
    assertTrue(sourceRunning.err().contains("redis-server is running; stop it first"), sourceRunning.err());
    assertUntouched(nixos, targetBefore);
    ubuntu.check(STEP, "systemctl", "stop", "redis-server");

    // Refused when the target's Redis is older than the source's. Both containers boot the same
    // root, hence the same Redis, so an older one can only be faked: a wrapper early on the
    // agent's PATH (/usr/local/bin comes before /usr/bin in systemd's default PATH) that reports
    // an old version for --version and runs the real server otherwise.
    nixos.writeFile("/usr/local/bin/redis-server", String.join("\n",
        "#!/bin/sh",
        "# ferry test: pretends to be an old Redis for the agent's version check.",
        "if [ \"$1\" = --version ]; then echo 'Redis server v=6.0.16 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64'; exit 0; fi",
        "exec /usr/bin/redis-server \"$@\"",
        ""), "rwxr-xr-x");
    TwoHostLab.Ferry older;
    try {
      older = redisCopy();
    } finally {
      Files.delete(nixos.hostPath("/usr/local/bin/redis-server"));
    }
    assertEquals(1, older.exitCode(), older.out() + older.err());
    assertTrue(older.err().contains("Redis 6.0.16 is older than the source's"), older.err());
    assertUntouched(nixos, targetBefore);

    // Both stopped, same version: the copy goes through.
    byte[] sourceDump = Files.readAllBytes(ubuntu.hostPath(SOURCE_DUMP));
    String oldDumpOwnerAndMode = stat(nixos, TARGET_DUMP);
    String version = versionOf(ubuntu);
    TwoHostLab.Ferry copy = redisCopy();
    assertEquals(0, copy.exitCode(), copy.out() + copy.err());
    assertTrue(copy.out().contains("copied " + sourceDump.length + " bytes to nixos:" + TARGET_DUMP
        + " (Redis " + version + " -> " + version + ")"), copy.out());
    Matcher kept = Pattern.compile("old dump kept as (\\S+)").matcher(copy.out());
    assertTrue(kept.find(), copy.out());
    assertTrue(kept.group(1).startsWith(TARGET_DUMP + ".ferry-backup-"), kept.group(1));
    assertArrayEquals(targetBefore, Files.readAllBytes(nixos.hostPath(kept.group(1))), "the backup holds the old dump");
    assertArrayEquals(sourceDump, Files.readAllBytes(nixos.hostPath(TARGET_DUMP)));
    assertEquals("redis-mastodon 600", stat(nixos, TARGET_DUMP));
    // The backup is a hard link to the old dump: as it was, owner and mode included.
    assertEquals(oldDumpOwnerAndMode, stat(nixos, kept.group(1)));

    // The target's Redis loads it: the source's keys, and not the target's old one.
    nixos.check(STEP, "systemctl", "start", "redis-mastodon");
    TwoHostLab.awaitRedis(nixos, port);
    assertEquals("hello from ubuntu", TwoHostLab.redisCli(nixos, port, "GET", "ferry:greeting"));
    assertEquals("a\nb\nc", TwoHostLab.redisCli(nixos, port, "LRANGE", "ferry:list", "0", "-1"));
    assertEquals("42", TwoHostLab.redisCli(nixos, port, "HGET", "ferry:hash", "field"));
    assertEquals("0", TwoHostLab.redisCli(nixos, port, "EXISTS", "ferry:target-only"));
  }

  private static TwoHostLab.Ferry redisCopy() throws Exception {
    return lab.ferry(CLI, "redis", "copy", "--from", "ubuntu", "--to", "nixos");
  }

  /** The target dump is byte for byte what it was, and no backup was made beside it. */
  private static void assertUntouched(SystemdContainer nixos, byte[] before) throws IOException {
    assertArrayEquals(before, Files.readAllBytes(nixos.hostPath(TARGET_DUMP)));
    try (Stream<Path> files = Files.list(nixos.hostPath("/var/lib/redis-mastodon"))) {
      List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
      assertEquals(List.of("dump.rdb"), names);
    }
  }

  private static String versionOf(SystemdContainer box) throws IOException {
    Matcher m = Pattern.compile("v=(\\d+(?:\\.\\d+)*)").matcher(box.check(STEP, "redis-server", "--version").stdout());
    assertTrue(m.find());
    return m.group(1);
  }
}
