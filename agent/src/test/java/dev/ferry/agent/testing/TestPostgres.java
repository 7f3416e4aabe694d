package dev.ferry.agent.testing;

import dev.ferry.common.localpg.LocalCluster;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A throwaway PostgreSQL cluster for tests (a {@link LocalCluster} in a temp directory): initdb
 * and pg_ctl as the {@code postgres} OS user, Unix socket only. Needs root and the PostgreSQL
 * server package; {@code bin/test} installs it.
 */
public final class TestPostgres implements AutoCloseable {
  public static final int PORT = LocalCluster.PORT;
  private final LocalCluster cluster;

  private TestPostgres(LocalCluster cluster) {
    this.cluster = cluster;
  }

  public static Path serverBindir() {
    return LocalCluster.serverBindir();
  }

  public static TestPostgres start(String name) throws IOException, InterruptedException {
    return new TestPostgres(LocalCluster.start(name, null));
  }

  public Path socketDir() {
    return cluster.socketDir();
  }

  public Path dataDir() {
    return cluster.dataDir();
  }

  public Path bindir() {
    return cluster.bindir();
  }

  public int port() {
    return cluster.port();
  }

  /** Runs SQL as the postgres superuser and returns unaligned, tuples-only output. */
  public String psql(String database, String sql) throws IOException, InterruptedException {
    return cluster.psql(database, sql);
  }

  public String psqlAs(String osUser, String database, String sql) throws IOException, InterruptedException {
    return cluster.psqlAs(osUser, database, sql);
  }

  /** Creates an OS user (for peer auth) and a role of the same name. */
  public void createRole(String name) throws IOException, InterruptedException {
    cluster.createRole(name);
  }

  public void createDatabase(String name, String owner) throws IOException, InterruptedException {
    cluster.createDatabase(name, owner);
  }

  /** Adds a system user if it does not exist. Idempotent and safe to race. */
  public static void ensureOsUser(String name) throws IOException, InterruptedException {
    LocalCluster.ensureOsUser(name);
  }

  public void stop() throws IOException, InterruptedException {
    cluster.stop();
  }

  @Override
  public void close() throws IOException, InterruptedException {
    cluster.close();
  }
}
