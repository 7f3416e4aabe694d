package dev.ferry.common.localpg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster, made with initdb and run with pg_ctl as the {@code postgres}
 * OS user, listening only on a Unix socket in its own directory. Used by the tests and by
 * {@code ferry demo}; never by a migration. Needs root (to switch users) and a PostgreSQL
 * server package (Debian layout, /usr/lib/postgresql/N/bin).
 */
public final class LocalCluster implements AutoCloseable {
  public static final int PORT = 5432;
  private final Path base;
  private final Path bindir;

  private LocalCluster(Path base, Path bindir) {
    this.base = base;
    this.bindir = bindir;
  }

  /** The newest installed server's bin directory. */
  public static Path serverBindir() {
    Path root = Path.of("/usr/lib/postgresql");
    try (Stream<Path> majors = Files.list(root)) {
      return majors
          .filter(p -> Files.isExecutable(p.resolve("bin/initdb")))
          .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString())))
          .orElseThrow(() -> new IllegalStateException(
              "no PostgreSQL server under /usr/lib/postgresql: apt-get install postgresql"))
          .resolve("bin");
    } catch (IOException e) {
      throw new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql: apt-get install postgresql", e);
    }
  }

  /** Creates and starts a cluster in a new directory under {@code parent} (a temp dir if null). */
  public static LocalCluster start(String name, Path parent) throws IOException, InterruptedException {
    ensureOsUser("postgres");
    Path bindir = serverBindir();
    Path base = parent == null
        ? Files.createTempDirectory("ferry-pg-" + name + "-")
        : Files.createDirectories(parent.resolve("pg-" + name));
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    run(List.of("chown", "postgres:postgres", base.toString()));
    LocalCluster pg = new LocalCluster(base, bindir);
    run(asPostgres(bindir.resolve("initdb").toString(), "-D", pg.dataDir().toString(), "-U", "postgres",
        "--auth-local=peer", "--auth-host=reject", "-E", "UTF8", "--locale=C.UTF-8"));
    Files.createDirectories(pg.socketDir());
    run(List.of("chown", "postgres:postgres", pg.socketDir().toString()));
    pg.startServer();
    Runtime.getRuntime().addShutdownHook(new Thread(pg::stopQuietly));
    return pg;
  }

  /** Starts the server of this cluster, made earlier, again (after {@link #stop()} or a crash). */
  public void startServer() throws IOException, InterruptedException {
    run(asPostgres(bindir.resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-l",
        base.resolve("server.log").toString(), "-w", "-t", "60", "-o",
        "-k " + socketDir() + " -p " + PORT + " -c listen_addresses='' -c fsync=off", "start"));
  }

  /** True if the server answers. */
  public boolean running() throws InterruptedException {
    try {
      return psql("postgres", "SELECT 1").equals("1");
    } catch (IOException e) {
      return false;
    }
  }

  public Path base() {
    return base;
  }

  public Path socketDir() {
    return base.resolve("run");
  }

  public Path dataDir() {
    return base.resolve("data");
  }

  public Path bindir() {
    return bindir;
  }

  public int port() {
    return PORT;
  }

  /** Runs SQL as the postgres superuser and returns unaligned, tuples-only output. */
  public String psql(String database, String sql) throws IOException, InterruptedException {
    return psqlAs("postgres", database, sql);
  }

  /** Runs SQL as {@code osUser} (peer auth: the role of the same name). */
  public String psqlAs(String osUser, String database, String sql) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("runuser", "-u", osUser, "--",
        bindir.resolve("psql").toString(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
        "-h", socketDir().toString(), "-p", Integer.toString(PORT), "-U", osUser, "-d", database, "-f", "-"));
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    try (var in = process.getOutputStream()) {
      in.write(sql.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      throw new IOException("psql failed: " + out);
    }
    return out.strip();
  }

  /** Creates an OS user (for peer auth) and a login role of the same name. */
  public void createRole(String name) throws IOException, InterruptedException {
    ensureOsUser(name);
    psql("postgres", "CREATE ROLE \"" + name + "\" LOGIN;");
  }

  public void createDatabase(String name, String owner) throws IOException, InterruptedException {
    psql("postgres", "CREATE DATABASE \"" + name + "\" OWNER \"" + owner + "\" TEMPLATE template0;");
  }

  /** Adds a system user (and its group) if it does not exist. Idempotent. */
  /** Creates the system user {@code name} if there is none; true if this call created it. */
  public static synchronized boolean ensureOsUser(String name) throws IOException, InterruptedException {
    Process id = new ProcessBuilder("id", "-u", name).redirectErrorStream(true).start();
    id.getInputStream().readAllBytes();
    if (id.waitFor() == 0) {
      return false;
    }
    Process add = new ProcessBuilder("useradd", "--system", "--user-group", "--no-create-home",
        "--shell", "/usr/sbin/nologin", name).redirectErrorStream(true).start();
    String out = new String(add.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    // 9: the user appeared meanwhile.
    if (add.waitFor() != 0 && add.exitValue() != 9) {
      throw new IOException("useradd " + name + " failed: " + out);
    }
    return add.exitValue() == 0;
  }

  private static List<String> asPostgres(String... argv) {
    List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    full.addAll(List.of(argv));
    return full;
  }

  static void run(List<String> argv) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
      throw new IOException(String.join(" ", argv) + " failed: " + out);
    }
  }

  public void stop() throws IOException, InterruptedException {
    if (Files.exists(dataDir().resolve("postmaster.pid"))) {
      run(asPostgres(bindir.resolve("pg_ctl").toString(), "-D", dataDir().toString(), "-w", "-m", "immediate", "stop"));
    }
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (IOException | InterruptedException e) {
      // Best effort at JVM exit.
    }
  }

  /** Stops the server and deletes its directory. */
  @Override
  public void close() throws IOException, InterruptedException {
    stop();
    run(List.of("rm", "-rf", "--one-file-system", base.toString()));
  }
}
