package dev.ferry.controller.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.controller.client.Pairing;
import dev.ferry.controller.demo.DemoCheck;
import dev.ferry.controller.demo.DemoHosts;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.controller.migration.StepName;
import dev.ferry.controller.testing.ChildAgent;
import dev.ferry.controller.testing.FaultTables;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The fault matrix of a whole {@code ferry migrate} (issue 8): two real agents and the controller,
 * each in a JVM of its own on loopback, move the demo's sample instance (a real PostgreSQL cluster
 * per side, a media tree). For each data step (media pre-sync, database copy, media delta) and each
 * victim (source agent, target agent, controller), a trial SIGKILLs the victim at a random moment
 * while the step runs (the seed is printed), restarts it, and runs {@code migrate --resume} until it
 * completes (at most {@value #MAX_RESUMES} times). Four further trials fill a target disk in
 * each step that writes to one (a tmpfs under the media root during the pre-sync and before the
 * final delta, under the secrets directory, under the PostgreSQL data directory during the
 * restore), expect a clear failure, make space and resume.
 *
 * <p>After every trial: the source is unchanged (file checksums, owners and modes; row counts and
 * sequences), the target is complete and verified independently of ferry (rows, sequences, media
 * bytes, owners, modes, secrets, the old database set aside with its contents), and no file under
 * a real name differs from the source's. Between trials the target is put back as new.
 *
 * <p>Runs in the normal build at a small size; {@code -Dferry.faults.rounds=N} runs the matrix N
 * times, {@code -Dferry.faults.statuses=M} scales the instance, {@code -Dferry.faults.seed=S}
 * replays a run.
 */
@Tag("faults")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultMatrixTest {
  static final int MAX_RESUMES = 5;
  private static final int ACCOUNTS = Integer.getInteger("ferry.faults.accounts", 30);
  private static final int STATUSES = Integer.getInteger("ferry.faults.statuses", 1200);
  private static final int ROUNDS = Integer.getInteger("ferry.faults.rounds", 1);
  private static final StepName[] DATA_STEPS = {StepName.PRESYNC_MEDIA, StepName.COPY_DATABASE, StepName.FINAL_MEDIA};

  enum Victim { SOURCE_AGENT, TARGET_AGENT, CONTROLLER, NONE }

  /** One trial's outcome, a row of the final table. */
  record Trial(String fault, StepName step, long delayMs, String stepStateAtFault, int runs, boolean resumedToSuccess,
      boolean dataLost, String note) {}

  private final long seed = Long.getLong("ferry.faults.seed", new SecureRandom().nextLong());
  private final Random random = new Random(seed);
  private final List<Trial> trials = new ArrayList<>();
  private final Map<StepName, Long> stepMillis = new HashMap<>();
  private Path dir;
  private DemoHosts hosts;
  private ChildAgent source;
  private ChildAgent target;
  private Path home;
  private int controllerRuns;

  @BeforeAll
  void setUp() throws Exception {
    System.out.println("fault matrix seed: " + seed + " (replay with -Dferry.faults.seed=" + seed + ")");
    dir = Files.createTempDirectory("ferry-faults-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    hosts = DemoHosts.create(dir.resolve("hosts"), ACCOUNTS, STATUSES, line -> System.out.println("setup: " + line));
    home = dir.resolve("ferry-home");
    ControllerHome controllerHome = new ControllerHome(home);
    source = ChildAgent.configure(dir.resolve("source-agent"), hosts.sourceConfig());
    target = ChildAgent.configure(dir.resolve("target-agent"), hosts.targetConfig());
    for (var entry : Map.of("source", source, "target", target).entrySet()) {
      ChildAgent agent = entry.getValue();
      String code = agent.init();
      agent.start();
      Pairing.Result paired = Pairing.pair(controllerHome.identity(), "ferry-faults", agent.address(), code);
      controllerHome.saveHost(new PairedHost(entry.getKey(), agent.address(), paired.agentFingerprint(),
          paired.hostname(), Instant.now().toString()));
    }
  }

  @AfterAll
  void tearDown() throws Exception {
    printTable();
    for (ChildAgent agent : new ChildAgent[] {source, target}) {
      if (agent != null) {
        agent.close();
      }
    }
    if (hosts != null) {
      hosts.close();
    }
    run("umount", "-q", hosts.targetMedia().toString());
    run("rm", "-rf", "--one-file-system", dir.toString());
  }

  @Test
  @Order(1)
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void killingAnyPartyDuringAnyDataStepLosesNothingAndResumes() throws Exception {
    // An undisturbed run first: it proves the harness and times each step, to aim the kills.
    Trial calibration = trial(Victim.NONE, StepName.PRESYNC_MEDIA);
    assertTrue(calibration.resumedToSuccess(), calibration.note());
    for (int round = 0; round < ROUNDS; round++) {
      for (StepName step : DATA_STEPS) {
        for (Victim victim : new Victim[] {Victim.SOURCE_AGENT, Victim.TARGET_AGENT, Victim.CONTROLLER}) {
          trial(victim, step);
        }
      }
    }
    for (Trial t : trials) {
      assertFalse(t.dataLost(), "data lost in " + t);
      assertTrue(t.resumedToSuccess(), "did not resume to success: " + t);
    }
  }

  /**
   * The narrowest window of the database step: the target has swapped the copy in, but the
   * controller dies before it can journal the step as done. The controller is frozen (SIGSTOP)
   * when the step starts, killed once the old database has been set aside, and resumed.
   */
  @Test
  @Order(2)
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void theControllerDyingAfterTheSwapButBeforeItsJournalDoesNotCopyTwice() throws Exception {
    prepare();
    Snapshot before = snapshot();
    Map<String, String> added = new TreeMap<>();
    java.util.concurrent.atomic.AtomicBoolean swappedWhileFrozen = new java.util.concurrent.atomic.AtomicBoolean();
    Watcher watcher = new Watcher(Victim.CONTROLLER);
    watcher.onRunning(StepName.COPY_DATABASE, () -> {
      Process controller = currentController;
      // Freeze it only once the target has started the copy (its staging database exists).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline && hosts.targetPg().psql("postgres",
          "SELECT count(*) FROM pg_database WHERE datname LIKE '%ferry_staging'").equals("0")) {
        Thread.sleep(5);
      }
      run("kill", "-STOP", Long.toString(controller.pid()));
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline && hosts.targetPg().psql("postgres",
          "SELECT count(*) FROM pg_database WHERE datname LIKE 'mastodon_before_ferry_%'").equals("0")) {
        Thread.sleep(20);
      }
      swappedWhileFrozen.set(!hosts.targetPg().psql("postgres",
          "SELECT count(*) FROM pg_database WHERE datname LIKE 'mastodon_before_ferry_%'").equals("0"));
      watcher.stateAtFault = watcher.state(StepName.COPY_DATABASE);
      controller.destroyForcibly();
    });
    watcher.start();
    Run first = controller(false);
    watcher.stop();
    assertNotEquals(0, first.exitCode(), "the controller should have been killed");
    assertEquals("RUNNING", watcher.stateAtFault, "the journal should still show the step running");
    assertTrue(swappedWhileFrozen.get(), "the target should have swapped the copy in while the controller was frozen");
    Run resumed = controller(true);
    assertEquals(0, resumed.exitCode(), resumed.err());
    boolean lost = false;
    String note = "";
    try {
      assertSourceUnchanged(before, added);
      DemoCheck.Result check = hosts.verify();
      assertTrue(check.passed(), check.summary());
      // The report names the database that really held the target's old data.
      assertOldDatabaseKept();
      // The resume saw the copy had landed and did not copy (nor set anything aside) again.
      assertTrue(resumed.err().contains("already swapped its verified copy in"), resumed.err());
    } catch (AssertionError e) {
      lost = true;
      note = e.getMessage();
    }
    trials.add(new Trial("controller frozen, killed after swap", StepName.COPY_DATABASE, 0, watcher.stateAtFault, 2,
        true, lost, note));
    assertFalse(lost, note);
  }

  @Test
  @Order(3)
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aFullMediaDiskDuringThePreSyncFailsClearlyKeepsEverythingAndResumes() throws Exception {
    Path media = hosts.targetMedia();
    long mediaBytes = hosts.mediaSize()[1];
    withMediaTmpfs(ballast -> fullDiskTrial(StepName.PRESYNC_MEDIA, StepName.PRESYNC_MEDIA, media, () -> {
      fill(ballast, mediaBytes / 3); // room for about a third of the media
    }, ballast, () -> {
      // Nothing was stopped or swapped: the target's own database is still in place, untouched.
      assertTargetDatabaseUntouched();
    }));
  }

  @Test
  @Order(4)
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aFullMediaDiskDuringTheFinalDeltaFailsClearlyKeepsEverythingAndResumes() throws Exception {
    Path media = hosts.targetMedia();
    // The pre-sync has landed by the time the database step runs; the disk then fills up, so the
    // delta (the uploads made during the database step) has no room.
    withMediaTmpfs(ballast -> fullDiskTrial(StepName.FINAL_MEDIA, StepName.COPY_DATABASE, media, () -> {
      fill(ballast, 16_384);
    }, ballast, () -> {
      // The database step had finished: its copy is in, with the old one set aside.
      assertOldDatabaseKept();
    }));
  }

  @Test
  @Order(5)
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aFullSecretsDiskFailsClearlyWritesNoPartialSecretAndResumes() throws Exception {
    Path secrets = hosts.targetSecrets();
    String uid = output("id", "-u", "mastodon");
    String gid = output("id", "-g", "mastodon");
    run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700,uid=" + uid + ",gid=" + gid, "faults-secrets", secrets.toString());
    Path ballast = secrets.resolve(".faults-ballast");
    try {
      fullDiskTrial(StepName.WRITE_SECRETS, StepName.PRESYNC_MEDIA, secrets, () -> {
        fill(ballast, 0);
      }, ballast, () -> {
        // No secret file under a real name: a half-written key would start Mastodon with it.
        try (Stream<Path> files = Files.list(secrets)) {
          List<String> visible = files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
          assertEquals(List.of(), visible, "secret files on a full disk");
        }
        assertTargetDatabaseUntouched();
      });
    } finally {
      Files.deleteIfExists(ballast);
      run("umount", secrets.toString());
    }
  }

  /**
   * The target's PostgreSQL data directory fills up as pg_restore starts on the staging
   * database (a pg_restore that waits for the harness; the server then fails its connection, or
   * the restore's first write). The restore fails, the real database is untouched, and the
   * resume (once there is space) removes the staging database and copies again. The cluster
   * runs on a tmpfs for this trial; its files are put back afterwards.
   */
  @Test
  @Order(6)
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aFullDatabaseDiskDuringTheRestoreFailsClearlyKeepsEverythingAndResumes() throws Exception {
    var pg = hosts.targetPg();
    Path data = pg.dataDir();
    Path aside = data.resolveSibling("data.on-disk");
    pg.stop();
    run("mv", data.toString(), aside.toString());
    Files.createDirectory(data);
    long used = Long.parseLong(output("du", "-sb", aside.toString()).split("\\s+")[0]);
    // Room for what is there, the preflight's estimate for the copy and WAL; all of it is taken
    // once pg_restore runs.
    long size = used + (1L << 30);
    String uid = output("id", "-u", "postgres");
    String gid = output("id", "-g", "postgres");
    run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700,uid=" + uid + ",gid=" + gid, "faults-pgdata", data.toString());
    Path ballast = data.resolve("faults-ballast");
    try {
      assertEquals("", output("cp", "-a", aside + "/.", data.toString()));
      pg.startServer();
      // The target agent runs a pg_restore that waits for the harness: polling for a real one
      // could miss it, as a restore of this small database may start and end between two polls.
      Path hold = holdingPgRestore(pg.bindir());
      target.kill();
      target.set(ConfigKey.PG_BINDIR, hold.resolve("bin").toString());
      target.start();
      fullDiskTrial(StepName.COPY_DATABASE, StepName.COPY_DATABASE, data, () -> {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(hold.resolve("started")) && System.nanoTime() < deadline) {
          Thread.sleep(2);
        }
        try {
          assertTrue(Files.exists(hold.resolve("started")), "pg_restore never started on the target");
          fill(ballast, 0);
        } finally {
          Files.createFile(hold.resolve("go"));
        }
      }, ballast, () -> {
        // A full disk can take the server down with it (a WAL write that fails is a PANIC); the
        // operator's part is to make space and start it again, which the harness does below.
        if (pg.running()) {
          assertTargetDatabaseUntouched();
          assertEquals("mastodon_ferry_staging", pg.psql("postgres",
              "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '%ferry_staging'"),
              "the partial copy should stay in the clearly named staging database");
        }
      });
    } finally {
      Files.deleteIfExists(ballast);
      try {
        pg.stop();
      } catch (IOException e) {
        System.out.println("stopping the target cluster on its tmpfs: " + e.getMessage());
      }
      target.kill();
      target.set(ConfigKey.PG_BINDIR, pg.bindir().toString());
      target.start();
      run("umount", data.toString());
      if (Files.isDirectory(aside)) {
        // The cluster's own files, as they were before the trial, take their place again.
        run("rm", "-rf", "--one-file-system", data.toString());
        run("mv", aside.toString(), data.toString());
      }
      pg.startServer();
    }
  }

  /**
   * A PostgreSQL bin directory whose pg_restore waits, once started, until a file {@code go}
   * appears beside it (at most a minute), and says so with a file {@code started}; every other
   * tool is the real one. Returns the directory holding {@code bin}, {@code started} and {@code go}.
   */
  private Path holdingPgRestore(Path realBin) throws Exception {
    Path hold = Files.createDirectories(dir.resolve("pg-restore-hold"));
    Files.setPosixFilePermissions(hold, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path bin = Files.createDirectories(hold.resolve("bin"));
    try (Stream<Path> tools = Files.list(realBin)) {
      for (Path tool : (Iterable<Path>) tools::iterator) {
        if (!tool.getFileName().toString().equals("pg_restore")) {
          Files.createSymbolicLink(bin.resolve(tool.getFileName()), tool);
        }
      }
    }
    Path script = bin.resolve("pg_restore");
    String real = realBin.resolve("pg_restore").toString();
    Files.writeString(script, String.join("\n",
        "#!/bin/sh",
        "# FaultMatrixTest: holds a restore until the harness has filled the disk.",
        "case \"$1\" in --version|-V) exec " + real + " \"$@\";; esac",
        "touch " + hold.resolve("started"),
        "i=0",
        "while [ ! -e " + hold.resolve("go") + " ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i + 1)); done",
        "exec " + real + " \"$@\"",
        ""));
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return hold;
  }

  /** Takes all but {@code leave} bytes of the filesystem {@code ballast} is to be in. */
  private static void fill(Path ballast, long leave) throws Exception {
    long free = Files.getFileStore(ballast.getParent()).getUsableSpace();
    run("fallocate", "-l", Long.toString(Math.max(0, free - leave)), ballast.toString());
  }

  /** Mounts a tmpfs on the target's media root for one trial; the body gets the ballast's path. */
  private void withMediaTmpfs(ThrowingConsumer<Path> body) throws Exception {
    Path media = hosts.targetMedia();
    long mediaBytes = hosts.mediaSize()[1];
    // Large enough for the preflight's disk check (media + 10%, at least 256 MiB of margin), so
    // the disk fills during the copy itself, when something else takes the space.
    long size = mediaBytes + (256L << 20) + (64L << 20);
    String owner = Files.readAttributes(media, PosixFileAttributes.class).owner().getName();
    mountTmpfs(media, size, owner);
    Path ballast = media.resolve(".faults-ballast");
    try {
      body.accept(ballast);
    } finally {
      Files.deleteIfExists(ballast);
      run("umount", media.toString());
    }
  }

  /**
   * One full-disk trial: {@code fill} runs when {@code fillWhen} starts, {@code failing} must then
   * fail saying the disk is full and which, with the source unchanged and no partial file under
   * a real name; once the ballast is gone, {@code --resume} must complete and verify.
   */
  private void fullDiskTrial(StepName failing, StepName fillWhen, Path filesystem, ThrowingRunnable fill, Path ballast,
      ThrowingRunnable checkAfterFailure) throws Exception {
    prepare();
    Snapshot before = snapshot();
    Map<String, String> added = new java.util.concurrent.ConcurrentSkipListMap<>();
    Watcher watcher = new Watcher(null);
    watcher.onRunning(StepName.COPY_DATABASE, () -> {
      // First the disk (a fill aimed at the restore must not miss it), then uploads that arrive
      // while the database is copied, for the final delta to carry.
      if (fillWhen == StepName.COPY_DATABASE) {
        fill.run();
      }
      added.putAll(addSourceFiles());
    });
    if (fillWhen != StepName.COPY_DATABASE) {
      watcher.onRunning(fillWhen, fill);
    }
    watcher.start();
    Run first = controller(false);
    watcher.stop();
    assertNotEquals(0, first.exitCode(), "the migration should fail on a full disk:\n" + first.err());
    assertTrue(first.err().contains("disk is full") && first.err().contains(filesystem.toString()),
        "the failure must say the disk is full, and which: " + first.err());
    assertEquals("FAILED", watcher.state(failing), first.err());
    assertNoPartialUnderARealName(hosts.targetMedia());
    assertSourceUnchanged(before, added);
    checkAfterFailure.run();

    // Space is made (and a server the full disk took down is started again); the migration resumes.
    Files.delete(ballast);
    if (!hosts.targetPg().running()) {
      hosts.targetPg().startServer();
    }
    Run resumed = controller(true);
    assertEquals(0, resumed.exitCode(), resumed.err());
    DemoCheck.Result check = hosts.verify();
    assertTrue(check.passed(), check.summary());
    assertSourceUnchanged(before, added);
    assertNoPartialUnderARealName(hosts.targetMedia());
    assertOldDatabaseKept();
    trials.add(new Trial("target disk full", failing, 0, "RUNNING", 2, true, false,
        "failed with: " + first.err().lines().filter(l -> l.contains("disk is full")).findFirst().orElse("")));
  }

  private void assertTargetDatabaseUntouched() throws Exception {
    assertEquals("t", hosts.targetPg().psql(DemoHosts.TARGET_DB,
        "SELECT to_regclass('public.schema_migrations') IS NOT NULL"));
    assertEquals("", hosts.targetPg().psql("postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'mastodon_before_ferry_%'"));
  }

  /** Runs one trial and records it; assertion failures are recorded as data loss. */
  private Trial trial(Victim victim, StepName step) throws Exception {
    prepare();
    Snapshot before = snapshot();
    // Half the undisturbed duration: later runs are faster (warm caches), and a kill must land in the step.
    long window = Math.max(50, stepMillis.getOrDefault(step, 500L) / 2);
    long delay = victim == Victim.NONE ? 0 : random.nextLong(window);
    Map<String, String> added = new TreeMap<>();
    Watcher watcher = new Watcher(victim);
    // Uploads that arrived after the pre-sync had passed them, for the final delta to carry.
    watcher.onRunning(StepName.COPY_DATABASE, () -> added.putAll(addSourceFiles()));
    if (victim != Victim.NONE) {
      watcher.onRunning(step, () -> {
        Thread.sleep(delay);
        watcher.stateAtFault = watcher.state(step);
        kill(victim);
      });
    }
    watcher.start();
    int runs = 0;
    Run last = null;
    try {
      last = controller(false);
      runs++;
      while (last.exitCode() != 0 && runs <= MAX_RESUMES) {
        watcher.awaitActions();
        restartDeadAgents();
        last = controller(true);
        runs++;
      }
    } finally {
      watcher.stop();
      restartDeadAgents();
    }
    if (victim == Victim.NONE) {
      for (StepName s : DATA_STEPS) {
        stepMillis.put(s, watcher.millis(s));
      }
    }
    boolean success = last.exitCode() == 0;
    String note = success ? "" : "last exit " + last.exitCode() + ": " + tail(last.err());
    boolean lost = false;
    try {
      assertSourceUnchanged(before, added);
      assertNoPartialUnderARealName(hosts.targetMedia());
      if (success) {
        DemoCheck.Result check = hosts.verify();
        assertTrue(check.passed(), check.summary());
        assertOldDatabaseKept();
      }
    } catch (AssertionError e) {
      lost = true;
      note = note + " " + e.getMessage();
    }
    String fault = victim == Victim.NONE ? "none (calibration)" : "kill -9 " + victim.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    Trial trial = new Trial(fault, step, delay, watcher.stateAtFault, runs, success, lost, note.strip());
    System.out.println("trial: " + trial);
    trials.add(trial);
    return trial;
  }

  private void kill(Victim victim) throws Exception {
    switch (victim) {
      case SOURCE_AGENT -> source.kill();
      case TARGET_AGENT -> target.kill();
      case CONTROLLER -> {
        Process p = currentController;
        if (p != null) {
          p.destroyForcibly();
        }
      }
      case NONE -> { }
    }
  }

  private void restartDeadAgents() throws Exception {
    for (ChildAgent agent : new ChildAgent[] {source, target}) {
      if (!agent.alive()) {
        agent.start();
      }
    }
  }

  /** The target as new, the source without the previous trial's uploads, no journal. */
  private void prepare() throws Exception {
    hosts.resetTarget();
    run("rm", "-rf", hosts.sourceMedia().resolve("media_attachments/files/777").toString());
    run("rm", "-rf", home.resolve("migrations").toString());
  }

  /** Writes a few new media files on the source as Mastodon would (owner mastodon); returns their hashes. */
  private Map<String, String> addSourceFiles() throws Exception {
    Path root = hosts.sourceMedia();
    Path base = root.resolve("media_attachments/files/777");
    Random r = new Random(seed ^ controllerRuns);
    for (int i = 0; i < 20; i++) {
      Path file = base.resolve(String.format(Locale.ROOT, "000/%03d/original/new%d.jpg", i, i));
      Files.createDirectories(file.getParent());
      byte[] data = new byte[50_000 + r.nextInt(300_000)];
      r.nextBytes(data);
      Files.write(file, data);
    }
    run("chown", "-R", "mastodon:mastodon", base.toString());
    Map<String, String> added = new TreeMap<>();
    for (var entry : describe(base).entrySet()) {
      added.put("media_attachments/files/777/" + entry.getKey(), entry.getValue());
    }
    return added;
  }

  // ---- checks ----

  /** The source's media (bytes, owner, mode of every file) and database (rows, sequences). */
  record Snapshot(Map<String, String> media, String database) {}

  private Snapshot snapshot() throws Exception {
    return new Snapshot(describe(hosts.sourceMedia()), hosts.sourcePg().psql(DemoHosts.SOURCE_DB, DemoCheck.COUNTS_SQL));
  }

  private void assertSourceUnchanged(Snapshot before, Map<String, String> added) throws Exception {
    Map<String, String> expected = new TreeMap<>(before.media());
    expected.putAll(added);
    Snapshot now = snapshot();
    assertEquals(before.database(), now.database(), "the source database changed");
    if (!expected.equals(now.media())) {
      List<String> diff = new ArrayList<>();
      expected.forEach((k, v) -> {
        if (!v.equals(now.media().get(k))) {
          diff.add(k);
        }
      });
      now.media().keySet().stream().filter(k -> !expected.containsKey(k)).forEach(diff::add);
      throw new AssertionError("the source media changed: " + diff.subList(0, Math.min(5, diff.size())));
    }
  }

  /** Every file under a real (not hidden) name on the target is a complete copy of the source's. */
  private void assertNoPartialUnderARealName(Path targetMedia) throws Exception {
    Map<String, String> sourceHashes = DemoCheck.hashes(hosts.sourceMedia());
    Map<String, String> targetHashes = DemoCheck.hashes(targetMedia);
    List<String> bad = new ArrayList<>();
    targetHashes.forEach((path, hash) -> {
      boolean hidden = Path.of(path).getFileName().toString().startsWith(".");
      if (!hidden && !hash.equals(sourceHashes.get(path))) {
        bad.add(path);
      }
    });
    assertTrue(bad.isEmpty(), "files under a real name that are not the source's: " + bad);
  }

  /** The target's database from before the migration is kept, with its contents, under a new name. */
  private void assertOldDatabaseKept() throws Exception {
    String aside = hosts.targetPg().psql("postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'mastodon_before_ferry_%'");
    assertFalse(aside.isEmpty() || aside.contains(","), "one set-aside database expected, found: '" + aside + "'");
    assertEquals("t", hosts.targetPg().psql(aside, "SELECT to_regclass('public.schema_migrations') IS NOT NULL"),
        "the set-aside database lost its table");
  }

  private static Map<String, String> describe(Path root) throws IOException {
    Map<String, String> hashes = DemoCheck.hashes(root);
    Map<String, String> described = new TreeMap<>();
    for (var entry : hashes.entrySet()) {
      PosixFileAttributes a = Files.readAttributes(root.resolve(entry.getKey()), PosixFileAttributes.class,
          LinkOption.NOFOLLOW_LINKS);
      described.put(entry.getKey(), entry.getValue() + " " + a.owner().getName() + ":" + a.group().getName() + " "
          + PosixFilePermissions.toString(a.permissions()) + " " + a.lastModifiedTime());
    }
    return described;
  }

  // ---- processes ----

  record Run(int exitCode, String out, String err) {}

  private volatile Process currentController;

  /** {@code ferry migrate} in a JVM of its own, so that it can be killed. */
  private Run controller(boolean resume) throws Exception {
    controllerRuns++;
    Path out = dir.resolve("controller-" + controllerRuns + ".out");
    Path err = dir.resolve("controller-" + controllerRuns + ".err");
    List<String> argv = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), "dev.ferry.controller.FerryCli",
        "migrate", "--from", "source", "--to", "target", "--yes", "--json"));
    if (resume) {
      argv.add("--resume");
    }
    ProcessBuilder builder = new ProcessBuilder(argv).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().put("FERRY_HOME", home.toString());
    Process process = builder.start();
    currentController = process;
    if (!process.waitFor(5, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      process.waitFor();
    }
    currentController = null;
    return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static void mountTmpfs(Path at, long size, String owner) throws Exception {
    String uid = output("id", "-u", owner);
    String gid = output("id", "-g", owner);
    run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0750,uid=" + uid + ",gid=" + gid, "faults-media", at.toString());
  }

  private static String output(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    assertEquals(0, p.waitFor(), String.join(" ", argv) + ": " + out);
    return out;
  }

  private static void run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor(2, TimeUnit.MINUTES);
  }

  private static String tail(String text) {
    List<String> lines = text.lines().toList();
    return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
  }

  private void printTable() {
    long resumed = trials.stream().filter(Trial::resumedToSuccess).count();
    long lost = trials.stream().filter(Trial::dataLost).count();
    StringBuilder table = new StringBuilder();
    table.append(String.format(Locale.ROOT, "%nfault matrix (seed %d, %d accounts, %d statuses, %d media files, %d bytes)%n",
        seed, ACCOUNTS, STATUSES, hosts == null ? 0 : hosts.mediaSize()[0], hosts == null ? 0 : hosts.mediaSize()[1]));
    table.append(String.format(Locale.ROOT, "%-22s %-15s %8s %-10s %4s %-8s %-9s %s%n",
        "fault", "step", "delay ms", "step then", "runs", "resumed", "data lost", "note"));
    for (Trial t : trials) {
      table.append(String.format(Locale.ROOT, "%-22s %-15s %8d %-10s %4d %-8s %-9s %s%n", t.fault(), t.step().label(),
          t.delayMs(), t.stepStateAtFault(), t.runs(), t.resumedToSuccess() ? "yes" : "NO", t.dataLost() ? "YES" : "0",
          t.note()));
    }
    table.append(String.format(Locale.ROOT, "trials run: %d, resumed to success: %d, data lost: %d%n",
        trials.size(), resumed, lost));
    FaultTables.publish(table, "faults-table.txt");
  }

  /**
   * Polls the migration's journal.json and runs actions when a step is first seen running.
   * The journal is written atomically on every change, so a read never sees half a file.
   */
  private final class Watcher {
    private final Map<StepName, ThrowingRunnable> actions = new HashMap<>();
    private final Map<StepName, Boolean> fired = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<StepName, String[]> times = new HashMap<>();
    private volatile boolean running = true;
    private volatile int pending;
    volatile String stateAtFault = "-";
    private Thread thread;

    Watcher(Victim victim) {}

    void onRunning(StepName step, ThrowingRunnable action) {
      actions.put(step, action);
    }

    void start() {
      pending = actions.size();
      thread = new Thread(this::loop, "journal-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running) {
        for (var entry : actions.entrySet()) {
          if (!fired.containsKey(entry.getKey()) && "RUNNING".equals(state(entry.getKey()))) {
            fired.put(entry.getKey(), true);
            try {
              entry.getValue().run();
            } catch (Exception e) {
              System.out.println("watcher action failed: " + e);
            }
            pending--;
          }
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** Waits (briefly) for an action that was triggered to finish, so a restart follows the kill. */
    void awaitActions() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (fired.size() > actions.size() - pending && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    }

    void stop() throws InterruptedException {
      awaitActions();
      running = false;
      thread.join(10_000);
    }

    String state(StepName step) {
      String[] entry = entry(step);
      return entry == null ? "" : entry[0];
    }

    long millis(StepName step) {
      String[] entry = entry(step);
      if (entry == null || entry[1].isEmpty() || entry[2].isEmpty()) {
        return 500;
      }
      return java.time.Duration.between(Instant.parse(entry[1]), Instant.parse(entry[2])).toMillis();
    }

    private String[] entry(StepName step) {
      try (Stream<Path> dirs = Files.list(home.resolve("migrations"))) {
        for (Path d : (Iterable<Path>) dirs::iterator) {
          Path journal = d.resolve("journal.json");
          if (Files.exists(journal)) {
            var steps = com.google.gson.JsonParser.parseString(Files.readString(journal)).getAsJsonObject()
                .getAsJsonObject("steps").getAsJsonObject(step.name());
            return new String[] {steps.get("state").getAsString(), steps.get("startedAt").getAsString(),
                steps.get("finishedAt").getAsString()};
          }
        }
      } catch (IOException | RuntimeException e) {
        return times.get(step);
      }
      return null;
    }
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @FunctionalInterface
  interface ThrowingConsumer<T> {
    void accept(T value) throws Exception;
  }
}
