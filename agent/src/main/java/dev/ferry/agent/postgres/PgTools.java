package dev.ferry.agent.postgres;

import dev.ferry.agent.layout.DatabaseSettings;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the PostgreSQL client tools and runs psql against the layout's server over its Unix
 * socket, as an OS user whose name matches the role (peer authentication).
 */
public class PgTools {
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
  private static final Duration QUERY_TIMEOUT = Duration.ofMinutes(2);

  private final ProcessRunner runner;
  private final Path bindir;
  private final DatabaseSettings database;
  private final Map<ToolStamp, String> versions = new ConcurrentHashMap<>();

  public PgTools(ProcessRunner runner, Optional<Path> configuredBindir, DatabaseSettings database) {
    this.runner = runner;
    this.bindir = configuredBindir.orElseGet(PgTools::findBindir);
    this.database = database;
  }

  public DatabaseSettings database() {
    return database;
  }

  public Path bindir() {
    return bindir;
  }

  public String tool(String name) {
    return bindir.resolve(name).toString();
  }

  /**
   * Debian keeps each major under /usr/lib/postgresql/N/bin; take the newest, since a newer
   * pg_dump reads older servers. Elsewhere (NixOS) the tools are on the PATH.
   */
  static Path findBindir() {
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (DirectoryStream<Path> majors = Files.newDirectoryStream(debian, "[0-9]*")) {
        List<Path> found = new ArrayList<>();
        majors.forEach(found::add);
        Optional<Path> newest =
            found.stream()
                .filter(p -> Files.isExecutable(p.resolve("bin/pg_dump")))
                .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().replaceAll("\\D.*", ""))));
        if (newest.isPresent()) {
          return newest.get().resolve("bin");
        }
      } catch (IOException | NumberFormatException e) {
        // Fall through to the PATH.
      }
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "pg_dump"))) {
        return Path.of(dir);
      }
    }
    return Path.of("/usr/bin");
  }

  /**
   * The version a tool prints, like "15.8", or the failure. Remembered per binary (its real path,
   * inode, size and modification time), so installing other tools or pointing pg.bindir elsewhere
   * is seen at once, while a copy's repeated preflights do not start the same process again.
   */
  public String toolVersion(String name) throws CommandFailedException {
    Optional<ToolStamp> stamp = ToolStamp.of(Path.of(tool(name)));
    if (stamp.isPresent()) {
      String known = versions.get(stamp.get());
      if (known != null) {
        return known;
      }
    }
    ProcessRunner.Result result = runner.check(List.of(tool(name), "--version"), Map.of(), Duration.ofSeconds(20));
    Matcher m = VERSION.matcher(result.stdout());
    if (!m.find()) {
      throw new CommandFailedException(name + " printed no version: " + result.stdout().strip());
    }
    String version = m.group(2) == null ? m.group(1) : m.group(1) + "." + m.group(2);
    stamp.ifPresent(s -> versions.put(s, version));
    return version;
  }

  /** What identifies one build of a tool on disk; any upgrade or replacement changes it. */
  record ToolStamp(Path realPath, Object fileKey, long size, long modifiedMillis) {
    static Optional<ToolStamp> of(Path tool) {
      try {
        Path real = tool.toRealPath();
        BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
        return Optional.of(new ToolStamp(real, a.fileKey(), a.size(), a.lastModifiedTime().toMillis()));
      } catch (IOException | RuntimeException e) {
        return Optional.empty();
      }
    }
  }

  /** The major version from a version string: "15.8" gives 15. */
  public static int major(String version) {
    return Integer.parseInt(version.replaceAll("^(\\d+).*$", "$1"));
  }

  /**
   * Runs SQL through psql as {@code osUser} (peer auth) in database {@code dbname}. Variables are
   * passed with {@code -v} and must be referenced as {@code :'name'} (a quoted literal) or
   * {@code :"name"} (a quoted identifier), so names never get spliced into SQL text.
   *
   * @return psql's unaligned, tuples-only output: one line per row, fields split by '|'
   */
  public String query(String osUser, String dbname, String sql, Map<String, String> variables)
      throws CommandFailedException {
    Output output = run(osUser, dbname, sql, variables);
    if (output.exitCode() != 0) {
      throw new CommandFailedException(output.argv(), output.exitCode(), ProcessRunner.tail(output.stderr()));
    }
    return output.stdout();
  }

  /** What one psql run printed and how it ended. */
  public record Output(List<String> argv, int exitCode, String stdout, String stderr) {}

  /**
   * Like {@link #query}, but returns the output of a script that stopped at an error too: a
   * script that reads several things in one session (one process, one connection) keeps what it
   * read before the failure. Throws only if psql could not be run at all or timed out.
   */
  public Output run(String osUser, String dbname, String sql, Map<String, String> variables)
      throws CommandFailedException {
    List<String> argv = new ArrayList<>(psqlArgv(osUser, dbname));
    for (var entry : variables.entrySet()) {
      argv.add("-v");
      argv.add(entry.getKey() + "=" + entry.getValue());
    }
    argv.add("-f");
    argv.add("-");
    Process process = runner.start(argv, Map.of());
    try {
      // stderr is read on another thread: a script that fails after a long output must not
      // block on a full stderr pipe while stdout is read here.
      java.util.concurrent.CompletableFuture<byte[]> err = new java.util.concurrent.CompletableFuture<>();
      Thread drain = new Thread(() -> {
        try (var in = process.getErrorStream()) {
          err.complete(in.readAllBytes());
        } catch (IOException e) {
          err.complete(new byte[0]);
        }
      }, "psql-stderr");
      drain.setDaemon(true);
      drain.start();
      try (var stdin = process.getOutputStream()) {
        stdin.write(sql.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(QUERY_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new CommandFailedException("psql timed out");
      }
      return new Output(argv, process.exitValue(), new String(out, java.nio.charset.StandardCharsets.UTF_8),
          new String(err.join(), java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException e) {
      process.destroyForcibly();
      throw new CommandFailedException("psql: " + e.getMessage());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CommandFailedException("psql was interrupted");
    }
  }

  /** Runs SQL as the superuser (the postgres OS user and role). */
  public String superuserQuery(String dbname, String sql, Map<String, String> variables)
      throws CommandFailedException {
    return query(database.superuser(), dbname, sql, variables);
  }

  /** psql's fixed options: no psqlrc, stop on the first error, unaligned tuples only. */
  public List<String> psqlArgv(String osUser, String dbname) {
    return runner.asUser(
        osUser,
        List.of(
            tool("psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            database.socketDir().toString(),
            "-p",
            Integer.toString(database.port()),
            "-U",
            osUser,
            "-d",
            dbname));
  }

  /**
   * {@code pg_dump -Fc} of the layout's database to stdout, as the Mastodon OS user connecting
   * as the role of the same name (peer authentication), like the official guide. Compression
   * level 1 rather than the default: on a stream the single-threaded gzip is the bottleneck,
   * and level 1 keeps most of the size reduction for a fraction of the CPU (bench/db.sh).
   */
  public List<String> dumpArgv() {
    return runner.asUser(
        database.role(),
        List.of(tool("pg_dump"), "-Fc", "-Z1", "-h", database.socketDir().toString(), "-p", Integer.toString(database.port()),
            "-U", database.role(), "-d", database.name()));
  }

  /**
   * pg_restore into {@code targetDb} as the superuser (peer auth), switching to {@code role} so
   * every object belongs to it; stops at the first error. Reads stdin unless {@code archive} is
   * given (needed for {@code jobs > 1}). Verbose, so progress can be followed on stderr.
   */
  public List<String> restoreArgv(String targetDb, String role, int jobs, Optional<Path> archive) {
    List<String> argv =
        new ArrayList<>(
            List.of(tool("pg_restore"), "--no-owner", "--role=" + role, "--exit-on-error", "--verbose",
                "-h", database.socketDir().toString(), "-p", Integer.toString(database.port()),
                "-U", database.superuser(), "-d", targetDb));
    if (jobs > 1) {
      argv.add("--jobs=" + jobs);
    }
    archive.ifPresent(path -> argv.add(path.toString()));
    return runner.asUser(database.superuser(), argv);
  }
}
