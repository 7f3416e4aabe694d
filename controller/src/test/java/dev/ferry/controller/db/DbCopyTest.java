package dev.ferry.controller.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.controller.testing.ChildAgent;
import dev.ferry.controller.testing.TestController;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry db copy} end to end: two real PostgreSQL clusters, two real agents over mutual
 * TLS, the real CLI. The source looks like an Ubuntu install (mastodon_production), the target
 * like a NixOS one whose module already seeded an empty "mastodon" database.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DbCopyTest {
  private static final String SOURCE_DB = "mastodon_production";
  private static final String TARGET_DB = "mastodon";
  private static final String STAGING = "mastodon_ferry_staging";
  private static final List<String> CHECKSUMMED = List.of("accounts", "statuses", "\"MixedCase Table\"", "account_summaries");

  private Path dir;
  private TestPostgres sourcePg;
  private TestPostgres targetPg;
  private TestAgent source;
  private TestAgent target;
  private TestController controller;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @BeforeAll
  void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    sourcePg = TestPostgres.start("dbsrc");
    targetPg = TestPostgres.start("dbdst");
    sourcePg.createRole("mastodon");
    targetPg.createRole("mastodon");
    sourcePg.createDatabase(SOURCE_DB, "mastodon");
    sourcePg.psqlAs("mastodon", SOURCE_DB, resource("db/mastodon-shaped.sql"));
    // What the NixOS module leaves when it started once before the migration.
    targetPg.createDatabase(TARGET_DB, "mastodon");
    targetPg.psqlAs("mastodon", TARGET_DB, "CREATE TABLE seeded_by_nixos (id int); INSERT INTO seeded_by_nixos VALUES (1);");
    source = TestAgent.start(dir.resolve("source"), dbConfig(sourcePg, SOURCE_DB, "mastodon", sourcePg.bindir()));
    target = TestAgent.start(dir.resolve("target"), dbConfig(targetPg, TARGET_DB, "mastodon", targetPg.bindir()));
    controller = new TestController(dir.resolve("controller"));
    controller.pair("ubuntu", source);
    controller.pair("nixos", target);
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : cleanup) {
      c.close();
    }
    if (source != null) {
      source.close();
    }
    if (target != null) {
      target.close();
    }
    if (sourcePg != null) {
      sourcePg.close();
    }
    if (targetPg != null) {
      targetPg.close();
    }
  }

  static Map<ConfigKey, String> dbConfig(TestPostgres pg, String name, String role, Path bindir) throws IOException {
    return Map.of(
        // A port of our own: this branch's config check predates "listen = host:0".
        ConfigKey.LISTEN, "127.0.0.1:" + freePort(),
        ConfigKey.DB_HOST, pg.socketDir().toString(),
        ConfigKey.DB_PORT, Integer.toString(pg.port()),
        ConfigKey.PG_BINDIR, bindir.toString(),
        ConfigKey.DB_NAME, name,
        ConfigKey.DB_ROLE, role);
  }

  @Test
  @Order(1)
  void versionSkewIsRefusedBeforeAnythingChanges() throws Exception {
    // Only PostgreSQL 15 is installable on this machine, so the older pg_restore on the target
    // and the older pg_dump on the source are simulated: wrapper scripts that report 14 for
    // --version and run the real 15 tools otherwise.
    Path oldRestore = PgWrappers.reportingVersion(targetPg.bindir(), "pg_restore", "14.10");
    Path oldDump = PgWrappers.reportingVersion(sourcePg.bindir(), "pg_dump", "14.10");
    try (TestAgent oldTarget = TestAgent.start(dir.resolve("old-target"), dbConfig(targetPg, TARGET_DB, "mastodon", oldRestore));
        TestAgent oldSource = TestAgent.start(dir.resolve("old-source"), dbConfig(sourcePg, SOURCE_DB, "mastodon", oldDump))) {
      controller.pair("old-target", oldTarget);
      controller.pair("old-source", oldSource);
      String before = targetState();

      TestController.Run restore = controller.run("db", "copy", "--from", "ubuntu", "--to", "old-target", "--json");
      assertEquals(3, restore.exitCode(), restore.err());
      JsonObject doc = JsonParser.parseString(restore.out()).getAsJsonObject();
      assertEquals("refused", doc.get("result").getAsString());
      String problems = doc.get("preflight").toString();
      assertTrue(problems.contains("version_skew_restore"), problems);
      assertTrue(problems.contains("pg_restore on the target is version 14.10"), problems);
      assertTrue(problems.contains("Install PostgreSQL 15 or newer client tools on the target"), problems);

      TestController.Run dump = controller.run("db", "copy", "--from", "old-source", "--to", "nixos");
      assertEquals(3, dump.exitCode(), dump.err());
      assertTrue(dump.err().contains("version_skew_dump"), dump.err());
      assertTrue(dump.err().contains("pg_dump on the source is version 14.10 but the source server is 15"), dump.err());
      assertTrue(dump.err().contains("postgresql-client-15"), dump.err());

      assertEquals(before, targetState(), "a refused copy changes nothing");
      assertFalse(databases(targetPg).contains(STAGING));
    } finally {
      PgWrappers.delete(oldRestore);
      PgWrappers.delete(oldDump);
    }
  }

  @Test
  @Order(2)
  void missingOrWrongRolesAreRefusedClearly() throws Exception {
    String before = targetState();
    try (TestAgent wrongTargetRole = TestAgent.start(dir.resolve("role-target"), dbConfig(targetPg, TARGET_DB, "mastodon_nix", targetPg.bindir()));
        TestAgent wrongSourceRole = TestAgent.start(dir.resolve("role-source"), dbConfig(sourcePg, SOURCE_DB, "mastodon_old", sourcePg.bindir()))) {
      controller.pair("role-target", wrongTargetRole);
      controller.pair("role-source", wrongSourceRole);

      TestController.Run targetRole = controller.run("db", "copy", "--from", "ubuntu", "--to", "role-target");
      assertEquals(3, targetRole.exitCode(), targetRole.err());
      assertTrue(targetRole.err().contains("role mastodon_nix does not exist on the target server; create it"), targetRole.err());

      TestController.Run sourceRole = controller.run("db", "copy", "--from", "role-source", "--to", "nixos");
      assertEquals(3, sourceRole.exitCode(), sourceRole.err());
      assertTrue(sourceRole.err().contains("role mastodon_old does not exist on the source server"), sourceRole.err());
      assertTrue(sourceRole.err().contains("there is no OS user mastodon_old on the source"), sourceRole.err());
    }

    // A grant to a role the target lacks would stop pg_restore --exit-on-error at the GRANT.
    sourcePg.psql("postgres", "CREATE ROLE reporting NOLOGIN;");
    sourcePg.psqlAs("mastodon", SOURCE_DB, "GRANT SELECT ON accounts TO reporting;");
    try {
      TestController.Run grantee = controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos");
      assertEquals(3, grantee.exitCode(), grantee.err());
      assertTrue(grantee.err().contains("missing_grantee_roles"), grantee.err());
      assertTrue(grantee.err().contains("grants privileges to role(s) reporting that do not exist on the target"), grantee.err());
      assertTrue(grantee.err().contains("createuser reporting"), grantee.err());
    } finally {
      sourcePg.psqlAs("mastodon", SOURCE_DB, "REVOKE SELECT ON accounts FROM reporting;");
      sourcePg.psql("postgres", "DROP ROLE reporting;");
    }
    assertEquals(before, targetState(), "a refused copy changes nothing");
  }

  @Test
  @Order(3)
  void copiesVerifiesAndRenamesTheOldDatabaseAside() throws Exception {
    TestController.Run run = controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos", "--json");
    assertEquals(0, run.exitCode(), run.err() + run.out());
    JsonObject summary = JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonObject("summary");
    assertEquals(TARGET_DB, summary.get("database").getAsString());
    String aside = summary.get("renamed_aside_to").getAsString();
    assertTrue(aside.matches("mastodon_before_ferry_\\d{8}_\\d{6}"), aside);
    assertTrue(summary.get("drop_hint").getAsString().contains("dropdb " + aside), summary.toString());
    assertEquals(4, summary.get("tables_verified").getAsInt(), summary.toString());
    assertEquals(30000 + 300 + 50 + 300, summary.get("rows_verified").getAsLong(), summary.toString());
    assertTrue(summary.get("bytes_streamed").getAsLong() > 1_000_000, summary.toString());

    assertSameContent();
    // The old database is kept, renamed aside, with what the NixOS module had put there.
    assertEquals("1", targetPg.psql(aside, "SELECT count(*) FROM seeded_by_nixos;"));
    assertFalse(databases(targetPg).contains(STAGING));
    // Everything belongs to the target's Mastodon role, and the plpgsql default works there.
    assertEquals("mastodon", targetPg.psql(TARGET_DB, "SELECT tableowner FROM pg_tables WHERE tablename = 'statuses';"));
    String id = targetPg.psqlAs("mastodon", TARGET_DB,
        "INSERT INTO statuses (account_id, text) VALUES (1, 'after the move') RETURNING id;");
    assertTrue(Long.parseLong(id) > 0, id);
    targetPg.psqlAs("mastodon", TARGET_DB, "DELETE FROM statuses WHERE text = 'after the move';");
  }

  @Test
  @Order(4)
  void parallelRestoreSpoolsOnTheTarget() throws Exception {
    List<String> asideBefore = asideDatabases();
    TestController.Run run = controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos", "--jobs", "2", "--json");
    assertEquals(0, run.exitCode(), run.err() + run.out());
    JsonObject summary = JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonObject("summary");
    assertEquals(2, summary.get("jobs").getAsInt());
    assertSameContent();
    List<String> asideAfter = asideDatabases();
    assertEquals(asideBefore.size() + 1, asideAfter.size(), asideAfter.toString());
    assertTrue(asideAfter.containsAll(asideBefore), "earlier renamed-aside databases are never dropped");
    // The spool is gone: it was only a copy of what the source still has.
    Path spool = targetPg.dataDir().getParent().resolve("ferry-spool");
    try (var files = Files.list(spool)) {
      assertEquals(0, files.count());
    }
  }

  @Test
  @Order(5)
  void aKilledSourceLeavesTheTargetUntouchedAndTheNextRunStartsAgain() throws Exception {
    // The source agent runs in a JVM of its own, with a pg_dump that passes 1 MiB and stalls,
    // so the kill lands mid-dump whatever the machine's speed.
    Path stalling = PgWrappers.stallingDumpAfter(sourcePg.bindir(), 1 << 20);
    ChildAgent child =
        ChildAgent.configure(dir.resolve("child"), Map.of(ConfigKey.LAYOUT, "none",
            ConfigKey.DB_HOST, sourcePg.socketDir().toString(), ConfigKey.DB_PORT, Integer.toString(sourcePg.port()),
            ConfigKey.DB_NAME, SOURCE_DB, ConfigKey.DB_ROLE, "mastodon", ConfigKey.PG_BINDIR, stalling.toString()));
    cleanup.add(child);
    try {
      String code = child.init();
      child.start();
      TestController.Run pair = controller.run("pair", "crashy", child.address(), "--code", code);
      assertEquals(0, pair.exitCode(), pair.err());
      String before = targetState();

      CompletableFuture<TestController.Run> copy =
          CompletableFuture.supplyAsync(() -> controller.run("db", "copy", "--from", "crashy", "--to", "nixos"));
      awaitStagingFilling();
      List<ProcessHandle> orphans = child.killLeavingChildren();
      TestController.Run cut = copy.get(3, TimeUnit.MINUTES);
      orphans.forEach(ProcessHandle::destroyForcibly);

      assertEquals(1, cut.exitCode(), cut.err());
      assertTrue(cut.err().contains("The real database was not touched"), cut.err());
      assertTrue(cut.err().contains("staging database " + STAGING), cut.err());
      assertEquals(before, targetState(), "the real target database is untouched");
      assertSameContent();
      assertTrue(databases(targetPg).contains(STAGING), "the partial copy stays, clearly named");

      child.set(ConfigKey.PG_BINDIR, sourcePg.bindir().toString());
      child.start();
      TestController.Run again = controller.run("db", "copy", "--from", "crashy", "--to", "nixos", "--json");
      assertEquals(0, again.exitCode(), again.err() + again.out());
      JsonObject summary = JsonParser.parseString(again.out()).getAsJsonObject().getAsJsonObject("summary");
      assertTrue(summary.get("removed_leftover_staging").getAsBoolean(), summary.toString());
      assertSameContent();
      assertFalse(databases(targetPg).contains(STAGING));
    } finally {
      child.close();
      PgWrappers.delete(stalling);
    }
  }

  @Test
  @Order(6)
  void aSourceWrittenToDuringTheDumpFailsVerificationAndNothingIsSwapped() throws Exception {
    Path writing = PgWrappers.writingAfterDump(sourcePg.bindir(), sourcePg.socketDir(), SOURCE_DB, "mastodon");
    try (TestAgent busy = TestAgent.start(dir.resolve("busy"), dbConfig(sourcePg, SOURCE_DB, "mastodon", writing))) {
      controller.pair("busy", busy);
      String before = targetState();
      String accounts = targetPg.psql(TARGET_DB, "SELECT count(*) FROM accounts;");

      TestController.Run run = controller.run("db", "copy", "--from", "busy", "--to", "nixos");
      assertEquals(1, run.exitCode(), run.err());
      assertTrue(run.err().contains("verification failed, nothing was swapped: table public.accounts: 301 rows on the source, 300 rows on the target"),
          run.err());
      assertTrue(run.err().contains("sequence public.accounts_id_seq: at 5001 on the source, at 5000 on the target"), run.err());
      assertEquals(before, targetState(), "the real target database is untouched");
      assertEquals(accounts, targetPg.psql(TARGET_DB, "SELECT count(*) FROM accounts;"));
      assertTrue(databases(targetPg).contains(STAGING), "the unverified copy stays in the staging database");
    } finally {
      PgWrappers.delete(writing);
    }
  }

  @Test
  @Order(7)
  void usageMistakesExitTwo() {
    assertEquals(2, controller.run("db", "copy", "--from", "ubuntu", "--to", "ubuntu").exitCode());
    assertEquals(2, controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos", "--jobs", "0").exitCode());
    assertEquals(2, controller.run("db", "copy", "--from", "nowhere", "--to", "nixos").exitCode());
    assertEquals(2, controller.run("db", "copy", "--from", "ubuntu").exitCode());
    assertEquals(2, controller.run("db").exitCode());
  }

  /**
   * The spool directory sits next to the data directory, where the PostgreSQL user can write. A
   * symlink planted there, at the spool's known name or at the spool file's, must never lead the
   * root agent to chmod, chown or overwrite what it points to.
   */
  @Test
  @Order(8)
  void symlinksPlantedInTheSpoolAreNeverFollowed() throws Exception {
    Path spool = targetPg.dataDir().getParent().resolve("ferry-spool");
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
    Files.setPosixFilePermissions(elsewhere, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path precious = Files.writeString(elsewhere.resolve("precious"), "not a dump\n");
    Files.setPosixFilePermissions(precious, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Object owner = Files.getAttribute(precious, "unix:uid");

    // The spool directory itself a symlink: refused, the directory it names keeps its mode and
    // owner, and the target's database is as it was.
    deleteSpool(spool);
    Files.createSymbolicLink(spool, elsewhere);
    String targetBefore = targetContent();
    List<String> asideBefore = asideDatabases();
    TestController.Run refused = controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos", "--jobs", "2");
    assertEquals(1, refused.exitCode(), refused.err() + refused.out());
    assertTrue(refused.err().contains("is a symlink"), refused.err());
    assertEquals("rwxr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(elsewhere)));
    assertEquals(owner, Files.getAttribute(elsewhere, "unix:uid"));
    assertEquals(targetBefore, targetContent());
    assertEquals(asideBefore, asideDatabases());

    // The spool file a symlink: the copy replaces the link and leaves its target alone.
    Files.delete(spool);
    Files.createDirectory(spool);
    Files.createSymbolicLink(spool.resolve(STAGING + ".dump"), precious);
    TestController.Run run = controller.run("db", "copy", "--from", "ubuntu", "--to", "nixos", "--jobs", "2", "--json");
    assertEquals(0, run.exitCode(), run.err() + run.out());
    // (Not assertSameContent: an earlier test wrote to the source, past its fixed expectations.)
    assertEquals(content(sourcePg, SOURCE_DB), targetContent());
    assertEquals("not a dump\n", Files.readString(precious));
    assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(precious)));
    assertEquals(owner, Files.getAttribute(precious, "unix:uid"));
    try (var files = Files.list(spool)) {
      assertEquals(0, files.count());
    }
  }

  private static void deleteSpool(Path spool) throws IOException {
    if (Files.isDirectory(spool, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (var files = Files.list(spool)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
    }
    Files.deleteIfExists(spool);
  }

  /** Waits until pg_restore has created tables in the staging database (the dump is flowing). */
  private void awaitStagingFilling() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      if (databases(targetPg).contains(STAGING)
          && !targetPg.psql(STAGING, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';").equals("0")) {
        // The stall is at 1 MiB; give the bytes before it time to arrive.
        Thread.sleep(1000);
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the staging database never filled");
  }

  private String targetContent() throws Exception {
    return content(targetPg, TARGET_DB);
  }

  /** The checksummed tables of a database, as one string. */
  private static String content(TestPostgres pg, String database) throws Exception {
    StringBuilder content = new StringBuilder();
    for (String table : CHECKSUMMED) {
      content.append(table).append('=').append(pg.psql(database,
          "SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY t::text)) FROM " + table + " t;")).append('\n');
    }
    return content.toString();
  }

  private void assertSameContent() throws Exception {
    for (String table : CHECKSUMMED) {
      String sql = "SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY t::text)) FROM " + table + " t;";
      assertEquals(sourcePg.psql(SOURCE_DB, sql), targetPg.psql(TARGET_DB, sql), table);
    }
    String sequences = "SELECT string_agg(sequencename || '=' || coalesce(last_value::text, 'unused'), ',' ORDER BY sequencename) FROM pg_sequences;";
    String expected = sourcePg.psql(SOURCE_DB, sequences);
    assertEquals(expected, targetPg.psql(TARGET_DB, sequences));
    assertTrue(expected.contains("Odd_Sequence=4242") && expected.contains("accounts_id_seq=5000")
        && expected.contains("never_used_sequence=unused"), expected);
    String enumAndJson = "SELECT kind || ' ' || (fields->0->>'name') FROM accounts WHERE username = 'user2';";
    assertEquals("group Website", targetPg.psql(TARGET_DB, enumAndJson));
  }

  /** The target's real database, as a fingerprint: its tables and their contents. */
  private String targetState() throws Exception {
    return targetPg.psql(TARGET_DB,
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';")
        + "|" + targetPg.psql("postgres",
            "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname <> '" + STAGING + "';");
  }

  private List<String> asideDatabases() throws Exception {
    return databases(targetPg).stream().filter(d -> d.startsWith("mastodon_before_ferry_")).toList();
  }

  private static List<String> databases(TestPostgres pg) throws Exception {
    return List.of(pg.psql("postgres", "SELECT datname FROM pg_database ORDER BY 1;").split("\n"));
  }

  static int freePort() throws IOException {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = DbCopyTest.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
