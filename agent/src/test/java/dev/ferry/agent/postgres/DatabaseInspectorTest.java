package dev.ferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.layout.DatabaseSettings;
import dev.ferry.agent.process.ProcessRunner;
import dev.ferry.agent.services.Systemctl;
import dev.ferry.agent.testing.TestPostgres;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-session reads of a real PostgreSQL server: the preflight's facts (everything in one
 * psql run, the database's part only when it exists), the counts of every table and sequence
 * (mixed-case and odd identifiers, an empty table, an unused sequence) and the one-transaction
 * swap.
 */
@Tag("integration")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DatabaseInspectorTest {
  private TestPostgres pg;
  private final ProcessRunner runner = new ProcessRunner();

  @BeforeAll
  void start() throws Exception {
    pg = TestPostgres.start("inspect");
    pg.createRole("mastodon");
    // A role only (no OS user of that name could exist), as a reporting role would be.
    pg.psql("postgres", "CREATE ROLE \"Reporting Role\"; CREATE ROLE \"odd|name \";");
    pg.createDatabase("mastodon_production", "mastodon");
    pg.psqlAs("mastodon", "mastodon_production", String.join("\n",
        "CREATE SCHEMA \"Odd Schema\";",
        "CREATE TABLE \"Odd Schema\".\"Mixed|Case \"\"Table\"\"\" (\"Id\" serial PRIMARY KEY, note text);",
        "INSERT INTO \"Odd Schema\".\"Mixed|Case \"\"Table\"\"\" (note) SELECT 'n' || i FROM generate_series(1, 7) i;",
        "CREATE TABLE empty_table (id bigserial PRIMARY KEY);",
        "CREATE TABLE plain (id int);",
        "INSERT INTO plain SELECT generate_series(1, 1234);",
        "CREATE SEQUENCE \"Set Sequence\";",
        "SELECT setval('\"Set Sequence\"', 4242);",
        "CREATE MATERIALIZED VIEW plain_summary AS SELECT count(*) AS n FROM plain;",
        "GRANT SELECT ON plain TO \"Reporting Role\";",
        "GRANT SELECT ON empty_table TO \"odd|name \";"));
  }

  @AfterAll
  void stop() throws Exception {
    pg.close();
  }

  private PgTools tools(String database) {
    return new PgTools(runner, Optional.of(pg.bindir()),
        new DatabaseSettings(database, "mastodon", pg.socketDir(), pg.port(), "postgres"));
  }

  private DatabaseInspector inspector(String database) {
    // No systemd on a test host's root: the unit check reports it cannot look, as in production.
    return new DatabaseInspector(tools(database), runner, new Systemctl(runner, Path.of("/nonexistent/run/systemd")),
        List.of("mastodon-web.service"));
  }

  @Test
  void describesAnExistingDatabaseInOneSession() throws Exception {
    DatabaseInspector.Described described = inspector("mastodon_production").describeWithRoles();
    DatabaseFacts f = described.facts();
    assertEquals(List.of(), f.errors());
    assertTrue(f.databaseExists());
    assertTrue(f.databaseSizeBytes() > 0, f.toString());
    assertEquals("UTF8", f.encoding());
    assertTrue(f.serverVersion().matches("\\d+\\.\\d+"), f.serverVersion());
    assertEquals(f.serverVersion().replaceAll("\\..*", ""), f.pgDumpVersion().replaceAll("\\..*", ""));
    assertEquals(f.pgDumpVersion(), f.pgRestoreVersion());
    assertEquals(pg.dataDir().toRealPath().toString(), Path.of(f.dataDirectory()).toRealPath().toString());
    assertTrue(f.roleExists());
    assertTrue(f.osUserExists());
    // Three tables and a materialized view, whatever their names.
    assertEquals(4, f.tableCount(), f.toString());
    // Names come back exactly: a '|' and a trailing space are part of the second one.
    assertEquals(List.of("Reporting Role", "odd|name "), f.grantees());
    assertFalse(f.stagingExists());
    assertEquals("mastodon_production_ferry_staging", f.stagingName());
    assertFalse(f.systemdRunning());
    assertTrue(described.roles().containsAll(Set.of("postgres", "mastodon", "Reporting Role", "odd|name ")), described.roles().toString());
    assertEquals(Set.of("Reporting Role", "odd|name "), described.existing(List.of("Reporting Role", "odd|name ", "odd|name", "nobody")));
  }

  @Test
  void aMissingDatabaseIsAFactNotAnError() {
    DatabaseFacts f = inspector("no_such_database").describe();
    assertEquals(List.of(), f.errors());
    assertFalse(f.databaseExists());
    assertEquals(-1, f.databaseSizeBytes());
    assertEquals(0, f.tableCount());
    assertEquals(List.of(), f.grantees());
    assertTrue(f.roleExists());
    assertFalse(f.serverVersion().isEmpty());
  }

  @Test
  void anUnreachableServerIsReportedNotThrown() {
    PgTools elsewhere = new PgTools(runner, Optional.of(pg.bindir()),
        new DatabaseSettings("mastodon_production", "mastodon", Path.of("/nonexistent/socket"), pg.port(), "postgres"));
    DatabaseFacts f = new DatabaseInspector(elsewhere, runner, new Systemctl(runner, Path.of("/nonexistent")), List.of()).describe();
    assertEquals(1, f.errors().size(), f.errors().toString());
    assertTrue(f.errors().get(0).startsWith("cannot query the PostgreSQL server at /nonexistent/socket as postgres"), f.errors().get(0));
    assertFalse(f.databaseExists());
  }

  @Test
  void countsEveryTableAndSequenceInOneSession() throws Exception {
    DatabaseCounts counts = inspector("mastodon_production").counts();
    assertEquals(Map.of(
            "\"Odd Schema\".\"Mixed|Case \"\"Table\"\"\"", 7L,
            "public.empty_table", 0L,
            "public.plain", 1234L,
            "public.plain_summary", 1L),
        counts.tableRows());
    assertEquals(Map.of("\"Odd Schema\".\"Mixed|Case \"\"Table\"\"_Id_seq\"", 7L, "public.\"Set Sequence\"", 4242L),
        counts.sequenceValues());
    assertEquals(Set.of("public.empty_table_id_seq"), counts.unusedSequences());
  }

  @Test
  void swapsInOneTransactionAndPicksAFreeAsideName() throws Exception {
    pg.createDatabase("swap_real", "mastodon");
    pg.psql("swap_real", "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('old');");
    pg.createDatabase("swap_real_ferry_staging", "mastodon");
    pg.psql("swap_real_ferry_staging", "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('new');");
    Clock clock = Clock.fixed(Instant.parse("2026-11-25T12:00:00Z"), ZoneOffset.UTC);
    // The first name is taken (an earlier copy in the same second): the next one is used.
    pg.createDatabase("swap_real_before_ferry_20261125_120000", "mastodon");
    PgTools tools = tools("swap_real");
    DatabaseCopier copier = new DatabaseCopier(tools, runner, inspector("swap_real"), clock);

    assertEquals(Optional.of("swap_real_before_ferry_20261125_120000_2"), copier.swap("swap_real", "swap_real_ferry_staging"));
    assertEquals("new", pg.psql("swap_real", "SELECT v FROM marker;"));
    assertEquals("old", pg.psql("swap_real_before_ferry_20261125_120000_2", "SELECT v FROM marker;"));
    assertEquals("t", pg.psql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'swap_real_before_ferry_20261125_120000_2';"));
    assertEquals("", pg.psql("postgres", "SELECT datname FROM pg_database WHERE datname = 'swap_real_ferry_staging';"));
  }

  @Test
  void aFailedSwapChangesNothing() throws Exception {
    pg.createDatabase("kept", "mastodon");
    pg.psql("kept", "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('old');");
    DatabaseCopier copier = new DatabaseCopier(tools("kept"), runner, inspector("kept"), Clock.systemUTC());

    // No staging database: the second rename fails, so the first one must not stay either.
    try {
      copier.swap("kept", "kept_ferry_staging");
      throw new AssertionError("the swap should have failed");
    } catch (dev.ferry.agent.process.CommandFailedException expected) {
      assertTrue(expected.getMessage().contains("kept_ferry_staging"), expected.getMessage());
    }
    assertEquals("old", pg.psql("kept", "SELECT v FROM marker;"));
    assertEquals("t", pg.psql("postgres", "SELECT datallowconn FROM pg_database WHERE datname = 'kept';"));
    assertEquals("", pg.psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'kept\\_before\\_ferry%';"));
  }

  @Test
  void aToolsVersionIsReadAgainOnceTheBinaryChanges(@TempDir Path bin) throws Exception {
    PgTools tools = new PgTools(runner, Optional.of(bin),
        new DatabaseSettings("x", "mastodon", pg.socketDir(), pg.port(), "postgres"));
    Path tool = bin.resolve("pg_restore");
    writeTool(tool, "14.10");
    assertEquals("14.10", tools.toolVersion("pg_restore"));
    assertEquals("14.10", tools.toolVersion("pg_restore"));
    // Upgraded in place (another size) and replaced by a rename (another inode, as dpkg does):
    // each is seen at once, so "install newer tools, run again" after a refusal works.
    writeTool(tool, "15.8.1");
    assertEquals("15.8", tools.toolVersion("pg_restore"));
    Path next = bin.resolve("pg_restore.new");
    writeTool(next, "16.4.1");
    java.nio.file.Files.move(next, tool, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    assertEquals("16.4", tools.toolVersion("pg_restore"));
  }

  private static void writeTool(Path path, String version) throws Exception {
    java.nio.file.Files.writeString(path, "#!/bin/sh\necho 'pg_restore (PostgreSQL) " + version + "'\n");
    java.nio.file.Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @Test
  void jsonOfNamesEscapesWhatJsonMust() {
    assertEquals("[\"a\",\"b \\\"q\\\" \\\\ \\u000a\"]", DatabaseCopier.json(List.of("a", "b \"q\" \\ \n")));
  }
}
