package dev.ferry.agent.postgres;

import dev.ferry.agent.disk.DiskFull;
import dev.ferry.agent.layout.DatabaseSettings;
import dev.ferry.agent.postgres.CopyProgress.Phase;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The target side of a database copy: preflight, a fresh staging database, the dump streamed
 * straight into pg_restore (or spooled for a parallel restore), verification against the
 * source's counts, then the swap. The real database is only touched by the swap, which renames
 * it aside; nothing but this copier's own staging database is ever dropped.
 */
public final class DatabaseCopier {
  private static final Logger logger = Logger.getLogger(DatabaseCopier.class.getName());
  /** Within the 64 KiB–1 MiB range that suits both pipes and gRPC messages. */
  static final int CHUNK = 256 * 1024;
  private static final long PROGRESS_EVERY_MILLIS = 250;
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd_HHmmss").withZone(ZoneOffset.UTC);

  /** Work a copy runs alongside its own thread: describing the source, preparing the staging database. */
  private static final ExecutorService WORKERS =
      Executors.newCachedThreadPool(
          runnable -> {
            Thread thread = new Thread(runnable, "database-copy-helper");
            thread.setDaemon(true);
            return thread;
          });

  private final PgTools pg;
  private final ProcessRunner runner;
  private final DatabaseInspector inspector;
  private final Clock clock;

  public DatabaseCopier(PgTools pg, ProcessRunner runner, DatabaseInspector inspector, Clock clock) {
    this.pg = pg;
    this.runner = runner;
    this.inspector = inspector;
    this.clock = clock;
  }

  /** The preflight's problems and the target's facts they were found with. */
  public record Check(List<Problem> problems, DatabaseFacts target) {}

  /** The preflight alone, against facts the source reported. Changes nothing. */
  public Check check(DatabaseFacts source, CopyOptions options) {
    DatabaseInspector.Described target = inspector.describeWithRoles();
    return new Check(CopyPreflight.check(source, target.facts(), target.existing(source.grantees()), options), target.facts());
  }

  public CopySummary copy(DumpSource source, CopyOptions options, Consumer<CopyProgress> progress)
      throws CopyRefusedException, CopyAbortedException, CommandFailedException, IOException {
    long started = clock.millis();
    DatabaseSettings db = pg.database();
    progress.accept(new CopyProgress(Phase.PREFLIGHT, 0, 0, 0, ""));
    // Both sides are described at once: the source over the link, this side locally.
    CompletableFuture<DatabaseFacts> describingSource = CompletableFuture.supplyAsync(() -> {
      try {
        return source.describe();
      } catch (IOException e) {
        throw new CompletionException(e);
      }
    }, WORKERS);
    DatabaseInspector.Described target = inspector.describeWithRoles();
    DatabaseFacts sourceFacts = await(describingSource);
    DatabaseFacts targetFacts = target.facts();
    List<Problem> problems = CopyPreflight.check(sourceFacts, targetFacts, target.existing(sourceFacts.grantees()), options);
    if (problems.stream().anyMatch(p -> p.blocks(options.yes()))) {
      throw new CopyRefusedException(problems);
    }
    List<Problem> warnings = problems.stream().filter(p -> !p.blocks(options.yes())).toList();
    if (!warnings.isEmpty()) {
      // Said now, not only in the summary: a long copy should not hide "make sure it is stopped".
      progress.accept(new CopyProgress(Phase.PREFLIGHT, 0, 0, sourceFacts.tableCount(),
          String.join("\n", warnings.stream().map(p -> "warning (" + p.side() + ", " + p.code() + "): " + p.message()).toList())));
    }
    String staging = targetFacts.stagingName();
    boolean removedLeftover = targetFacts.stagingExists();
    if (removedLeftover) {
      progress.accept(new CopyProgress(Phase.CLEANUP, 0, 0, 0,
          "removing the staging database " + staging + " left by an earlier, cut run"));
    }
    // The staging database is made ready while the source starts pg_dump: its first bytes wait
    // in the link's flow-control window meanwhile.
    CompletableFuture<Void> staged = CompletableFuture.runAsync(() -> {
      try {
        if (removedLeftover) {
          dropStaging(staging);
        }
        createStaging(staging, db.role(), sourceFacts.encoding());
      } catch (CommandFailedException e) {
        throw new CompletionException(e);
      }
    }, WORKERS);
    DumpSource.Dump opened;
    try {
      opened = source.open();
    } catch (IOException | RuntimeException e) {
      awaitQuietly(staged);
      throw e;
    }
    Transfer transfer;
    Path dataDirectory = Path.of(targetFacts.dataDirectory());
    try (DumpSource.Dump dump = opened) {
      await(staged);
      transfer =
          options.parallel()
              ? spoolAndRestore(dump, staging, options.jobs(), sourceFacts.tableCount(), dataDirectory, progress)
              : streamIntoRestore(dump, staging, sourceFacts.tableCount(), dataDirectory, progress);
      // Counted by the source after its dump: equal counts also mean nothing wrote to it since
      // pg_dump's snapshot.
      DatabaseCounts after = dump.countsAfter();
      progress.accept(new CopyProgress(Phase.VERIFYING, transfer.bytes(), transfer.tables(), sourceFacts.tableCount(), ""));
      long verifyStart = clock.millis();
      DatabaseCounts restored = inspector.counts(staging);
      List<String> differences = after.differences(restored, "source", "target");
      if (!differences.isEmpty()) {
        throw aborted(staging, "verification failed, nothing was swapped: " + summarize(differences)
            + " (if something wrote to the source during the dump, stop Mastodon there and run the copy again)", null);
      }
      long verifyMillis = clock.millis() - verifyStart;
      progress.accept(new CopyProgress(Phase.SWAPPING, transfer.bytes(), transfer.tables(), sourceFacts.tableCount(), ""));
      long swapStart = clock.millis();
      Optional<String> aside = swap(db.name(), staging);
      long swapMillis = clock.millis() - swapStart;
      String hint =
          aside.map(name -> "once satisfied with the copy, drop the old database: sudo -u " + db.superuser() + " dropdb " + name)
              .orElse("");
      return new CopySummary(db.name(), aside, transfer.bytes(), restored.tableRows().size(), restored.totalRows(),
          restored.sequenceCount(), transfer.streamMillis(), transfer.restoreMillis(), verifyMillis, swapMillis,
          clock.millis() - started, options.jobs(), removedLeftover, hint, warnings);
    }
  }

  /** The result of work run alongside, with its own checked exceptions. */
  private static <T> T await(CompletableFuture<T> future) throws CommandFailedException, IOException {
    try {
      return future.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CommandFailedException c) {
        throw c;
      }
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  private static void awaitQuietly(CompletableFuture<?> future) {
    try {
      future.join();
    } catch (RuntimeException e) {
      // The caller reports its own failure; the staging database is left for the next run.
    }
  }

  /** What moving the archive took. */
  record Transfer(long bytes, int tables, long streamMillis, long restoreMillis) {}

  private Transfer streamIntoRestore(
      DumpSource.Dump dump, String staging, int tablesTotal, Path dataDirectory, Consumer<CopyProgress> progress)
      throws CopyAbortedException, CommandFailedException {
    RestoreProcess restore = RestoreProcess.start(runner, pg.restoreArgv(staging, pg.database().role(), 1, Optional.empty()));
    long start = clock.millis();
    long bytes = 0;
    long lastReport = 0;
    byte[] buffer = new byte[CHUNK];
    try (restore) {
      InputStream in = dump.archive();
      OutputStream out = restore.stdin();
      while (true) {
        int n;
        try {
          n = in.read(buffer);
        } catch (IOException e) {
          throw aborted(staging, "the stream from the source was cut after " + bytes + " bytes (" + e.getMessage() + ")", e);
        }
        if (n < 0) {
          break;
        }
        try {
          out.write(buffer, 0, n);
        } catch (IOException e) {
          // pg_restore stopped reading: it failed; its exit says why.
          restore.awaitExit();
          throw restoreFailed(staging, restore, dataDirectory);
        }
        bytes += n;
        long now = clock.millis();
        if (now - lastReport >= PROGRESS_EVERY_MILLIS) {
          lastReport = now;
          progress.accept(new CopyProgress(Phase.STREAMING, bytes, restore.tablesRestored(), tablesTotal, ""));
        }
      }
      long streamed = clock.millis();
      try {
        out.close();
      } catch (IOException e) {
        // Reported through pg_restore's exit below.
      }
      progress.accept(new CopyProgress(Phase.RESTORING, bytes, restore.tablesRestored(), tablesTotal, ""));
      if (restore.awaitExit() != 0) {
        throw restoreFailed(staging, restore, dataDirectory);
      }
      return new Transfer(bytes, restore.tablesRestored(), streamed - start, clock.millis() - streamed);
    }
  }

  private Transfer spoolAndRestore(
      DumpSource.Dump dump, String staging, int jobs, int tablesTotal, Path dataDirectory, Consumer<CopyProgress> progress)
      throws CopyAbortedException, CommandFailedException, IOException {
    Path dir = DatabaseInspector.spoolDir(dataDirectory);
    UserPrincipal superuser =
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(pg.database().superuser());
    // The spool sits next to the data directory, where the PostgreSQL user can write: every step
    // below acts on the entry itself and refuses a symlink, so that user cannot have root chmod,
    // chown or truncate a file elsewhere (/etc/shadow) through a link planted at a known name.
    Files.createDirectories(dir);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalStateException("refused to spool the database into " + dir + ": it is a symlink, not a directory; remove it");
    }
    PosixFileAttributeView dirView = Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    dirView.setPermissions(PosixFilePermissions.fromString("rwx------"));
    dirView.setOwner(superuser);
    Path file = dir.resolve(staging + ".dump");
    long start = clock.millis();
    long bytes = 0;
    long lastReport = 0;
    // A spool left by an earlier run is only a copy of what the source still has. CREATE_NEW
    // (O_EXCL) then never follows a symlink and never truncates anything.
    Files.deleteIfExists(file);
    try {
      try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        PosixFileAttributeView fileView = Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        fileView.setPermissions(PosixFilePermissions.fromString("rw-------"));
        fileView.setOwner(superuser);
        byte[] buffer = new byte[CHUNK];
        InputStream in = dump.archive();
        while (true) {
          int n;
          try {
            n = in.read(buffer);
          } catch (IOException e) {
            throw aborted(staging, "the stream from the source was cut after " + bytes + " bytes (" + e.getMessage() + ")", e);
          }
          if (n < 0) {
            break;
          }
          out.write(buffer, 0, n);
          bytes += n;
          long now = clock.millis();
          if (now - lastReport >= PROGRESS_EVERY_MILLIS) {
            lastReport = now;
            progress.accept(new CopyProgress(Phase.STREAMING, bytes, 0, tablesTotal, "spooling for a parallel restore"));
          }
        }
      }
      long streamed = clock.millis();
      RestoreProcess restore = RestoreProcess.start(runner, pg.restoreArgv(staging, pg.database().role(), jobs, Optional.of(file)));
      try (restore) {
        restore.stdin().close();
        while (!restore.waitFor(PROGRESS_EVERY_MILLIS)) {
          progress.accept(new CopyProgress(Phase.RESTORING, bytes, restore.tablesRestored(), tablesTotal, ""));
        }
        if (restore.awaitExit() != 0) {
          throw restoreFailed(staging, restore, dataDirectory);
        }
        return new Transfer(bytes, restore.tablesRestored(), streamed - start, clock.millis() - streamed);
      }
    } finally {
      // The spool is only a copy of what the source still has.
      Files.deleteIfExists(file);
    }
  }

  private void createStaging(String staging, String role, String encoding) throws CommandFailedException {
    pg.superuserQuery("postgres",
        "CREATE DATABASE :\"staging\" OWNER :\"role\" TEMPLATE template0"
            + (encoding.isEmpty() ? "" : " ENCODING :'encoding'") + ";\n",
        encoding.isEmpty() ? Map.of("staging", staging, "role", role) : Map.of("staging", staging, "role", role, "encoding", encoding));
  }

  /** Drops the copier's own staging database, and only that: its name is fixed by the real one's. */
  private void dropStaging(String staging) throws CommandFailedException {
    if (!staging.endsWith("_ferry_staging")) {
      throw new IllegalStateException("refusing to drop " + staging + ": not a ferry staging database");
    }
    pg.superuserQuery("postgres",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'staging' AND pid <> pg_backend_pid();\n"
            + "DROP DATABASE IF EXISTS :\"staging\";\n",
        Map.of("staging", staging));
  }

  /**
   * Renames the real database aside (if any), then the staging database into its place: one psql
   * session. New sessions on the real database are refused first (committed on its own, so it
   * holds while the old ones are ended); both renames then commit together or not at all, so a
   * failure leaves the real database under its name and the staging database as it was.
   */
  static final String SWAP_SQL =
      "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS ferry_db_exists,\n"
          + "  (SELECT c FROM jsonb_array_elements_text(:'candidates'::jsonb) WITH ORDINALITY AS t(c, i)\n"
          + "    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = c) ORDER BY i LIMIT 1) AS ferry_aside \\gset\n"
          + "\\if :ferry_db_exists\n"
          + "ALTER DATABASE :\"db\" ALLOW_CONNECTIONS false;\n"
          + "BEGIN;\n"
          + "SELECT count(pg_terminate_backend(pid)) AS ferry_ended FROM pg_stat_activity"
          + " WHERE datname = :'db' AND pid <> pg_backend_pid() \\gset\n"
          + "ALTER DATABASE :\"db\" RENAME TO :\"ferry_aside\";\n"
          + "ALTER DATABASE :\"ferry_aside\" ALLOW_CONNECTIONS true;\n"
          + "\\else\n"
          + "BEGIN;\n"
          + "\\endif\n"
          + "ALTER DATABASE :\"staging\" RENAME TO :\"db\";\n"
          + "COMMIT;\n"
          + "\\if :ferry_db_exists\n"
          + "SELECT 'aside|' || :'ferry_aside';\n"
          + "\\endif\n";

  /** How many {@code _2}, {@code _3}... names to try when the timestamped name is taken. */
  private static final int ASIDE_CANDIDATES = 100;

  Optional<String> swap(String name, String staging) throws CommandFailedException {
    PgTools.Output out =
        pg.run(pg.database().superuser(), "postgres", SWAP_SQL,
            Map.of("db", name, "staging", staging, "candidates", json(asideCandidates(name))));
    if (out.exitCode() != 0) {
      // The transaction rolled back; new sessions may still be refused on the real database.
      restoreConnections(name);
      throw new CommandFailedException(out.argv(), out.exitCode(), ProcessRunner.tail(out.stderr()));
    }
    Optional<String> aside =
        out.stdout().lines().filter(l -> l.startsWith("aside|")).map(l -> l.substring("aside|".length())).findFirst();
    aside.ifPresent(a -> logger.info("renamed " + name + " aside to " + a));
    return aside;
  }

  private void restoreConnections(String name) {
    try {
      pg.superuserQuery("postgres",
          "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS ferry_db_exists \\gset\n"
              + "\\if :ferry_db_exists\n"
              + "ALTER DATABASE :\"db\" ALLOW_CONNECTIONS true;\n"
              + "\\endif\n",
          Map.of("db", name));
    } catch (CommandFailedException e) {
      logger.warning("could not re-allow connections to " + name + ": " + e.getMessage());
    }
  }

  /** {@code <name>_before_ferry_<UTC timestamp>}, then the same with a counter, first free one wins. */
  List<String> asideCandidates(String name) {
    String stamp = STAMP.format(clock.instant());
    List<String> names = new ArrayList<>();
    names.add(DatabaseInspector.fit(name, "_before_ferry_" + stamp));
    for (int i = 2; i <= ASIDE_CANDIDATES; i++) {
      names.add(DatabaseInspector.fit(name, "_before_ferry_" + stamp + "_" + i));
    }
    return names;
  }

  /** A JSON array of strings, for psql to hand to jsonb: quotes, backslashes and controls escaped. */
  static String json(List<String> strings) {
    StringBuilder b = new StringBuilder("[");
    for (String s : strings) {
      if (b.length() > 1) {
        b.append(',');
      }
      b.append('"');
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          b.append('\\').append(c);
        } else if (c < 0x20) {
          b.append(String.format("\\u%04x", (int) c));
        } else {
          b.append(c);
        }
      }
      b.append('"');
    }
    return b.append(']').toString();
  }

  /**
   * pg_restore's failure; a full disk is named as such, since it is the operator's to fix. The
   * server does not always say so (a backend that cannot write its init file only says that),
   * so the data directory's free space is looked at too.
   */
  static CopyAbortedException restoreFailed(String staging, String failure, Path dataDirectory) {
    long free = freeBytes(dataDirectory);
    if (DiskFull.says(failure) || (free >= 0 && free < FULL_BELOW_BYTES)) {
      failure = "the target's database disk is full (data directory " + dataDirectory
          + (free >= 0 ? ", " + free + " bytes free" : "") + "); free space there and run the copy again. " + failure;
    }
    return aborted(staging, failure, null);
  }

  private static CopyAbortedException restoreFailed(String staging, RestoreProcess restore, Path dataDirectory) {
    return restoreFailed(staging, restore.failure(), dataDirectory);
  }

  /** Less free than one WAL segment: PostgreSQL cannot go on writing. */
  static final long FULL_BELOW_BYTES = 16L << 20;

  /** Free bytes on the filesystem of {@code dir}, or -1 if it cannot be seen from here. */
  private static long freeBytes(Path dir) {
    try {
      return dir.toString().isEmpty() ? -1 : Files.getFileStore(dir).getUsableSpace();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static CopyAbortedException aborted(String staging, String why, Throwable cause) {
    return new CopyAbortedException(why + ". The real database was not touched; the partial copy is in the staging database "
        + staging + ", which the next run removes before starting again", cause);
  }

  private static String summarize(List<String> lines) {
    int shown = Math.min(lines.size(), 5);
    return String.join("; ", lines.subList(0, shown)) + (lines.size() > shown ? "; and " + (lines.size() - shown) + " more" : "");
  }
}
