package dev.ferry.agent.postgres;

import dev.ferry.agent.layout.DatabaseSettings;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import dev.ferry.agent.services.Systemctl;
import dev.ferry.agent.services.UnitState;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Reads {@link DatabaseFacts} and {@link DatabaseCounts} of the layout's database. Read-only. */
public class DatabaseInspector {
  private static final String SYSTEM_SCHEMAS =
      "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

  /** Generates one count query per table and runs it with \gexec; sequences come from pg_sequences. */
  static final String COUNTS_SQL =
      "SELECT format('SELECT %L, %L, count(*) FROM %I.%I', 'T', format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)\n"
          + "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
          + "  WHERE c.relkind IN ('r', 'm') AND (c.relkind <> 'm' OR c.relispopulated) AND " + SYSTEM_SCHEMAS + "\n"
          + "  ORDER BY 1 \\gexec\n"
          + "SELECT 'S', format('%I.%I', schemaname, sequencename), coalesce(last_value::text, '')\n"
          + "  FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
          + " AND schemaname NOT LIKE 'pg\\_%';\n";

  private static final String GRANTEES_SQL =
      "SELECT DISTINCT r.rolname FROM (\n"
          + "  SELECT (aclexplode(c.relacl)).grantee AS g, c.relowner AS owner FROM pg_class c"
          + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relacl IS NOT NULL AND " + SYSTEM_SCHEMAS + "\n"
          + "  UNION ALL SELECT (aclexplode(n.nspacl)).grantee, n.nspowner FROM pg_namespace n"
          + " WHERE n.nspacl IS NOT NULL AND " + SYSTEM_SCHEMAS + "\n"
          + "  UNION ALL SELECT (aclexplode(p.proacl)).grantee, p.proowner FROM pg_proc p"
          + " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proacl IS NOT NULL AND " + SYSTEM_SCHEMAS + "\n"
          + "  UNION ALL SELECT (aclexplode(t.typacl)).grantee, t.typowner FROM pg_type t"
          + " JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typacl IS NOT NULL AND " + SYSTEM_SCHEMAS + "\n"
          + ") a JOIN pg_roles r ON r.oid = a.g WHERE a.g <> a.owner AND r.rolname NOT LIKE 'pg\\_%' ORDER BY 1;\n";

  /** Runs the short, independent checks of a preflight side by side (each waits on a process). */
  private static final ExecutorService PROBES =
      Executors.newCachedThreadPool(
          runnable -> {
            Thread thread = new Thread(runnable, "database-probe");
            thread.setDaemon(true);
            return thread;
          });

  private final PgTools pg;
  private final ProcessRunner runner;
  private final Systemctl systemctl;
  private final List<String> units;

  /** @param units the layout's Mastodon units */
  public DatabaseInspector(PgTools pg, ProcessRunner runner, Systemctl systemctl, List<String> units) {
    this.pg = pg;
    this.runner = runner;
    this.systemctl = systemctl;
    this.units = List.copyOf(units);
  }

  /**
   * Where a parallel restore spools the archive: next to the data directory, where the
   * superuser (who runs pg_restore) owns things on Debian and NixOS alike, and on the same
   * filesystem the disk check covers.
   */
  public static Path spoolDir(Path dataDirectory) {
    Path parent = dataDirectory.getParent();
    return (parent == null ? dataDirectory : parent).resolve("ferry-spool");
  }

  public DatabaseSettings settings() {
    return pg.database();
  }

  public static String stagingName(String database) {
    return fit(database, "_ferry_staging");
  }

  /** {@code base + suffix}, shortening {@code base} so the name fits PostgreSQL's 63 bytes. */
  static String fit(String base, String suffix) {
    int room = 63 - suffix.length();
    return (base.length() > room ? base.substring(0, room) : base) + suffix;
  }

  /**
   * One psql session reads everything {@link #describe()} needs from the server: tagged lines
   * ("tag|value"), the database's part only if it exists (psql's \if), so a missing database
   * is a fact, not an error. One process and one connection instead of one per question.
   */
  static final String DESCRIBE_SQL =
      "SELECT 'server|' || current_setting('server_version');\n"
          + "SELECT 'datadir|' || current_setting('data_directory');\n"
          + "SELECT 'role|' || EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role');\n"
          + "SELECT 'staging|' || EXISTS (SELECT 1 FROM pg_database WHERE datname = :'staging');\n"
          + "SELECT 'roles|' || " + hex("rolname") + " FROM pg_roles;\n"
          + "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') AS ferry_db_exists \\gset\n"
          + "\\if :ferry_db_exists\n"
          + "SELECT 'size|' || pg_database_size(:'db');\n"
          + "SELECT 'encoding|' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = :'db';\n"
          + "\\connect :\"db\"\n"
          + GRANTEES_SQL.replace("SELECT DISTINCT r.rolname FROM", "SELECT DISTINCT 'grantee|' || " + hex("r.rolname") + " FROM")
          + "SELECT 'tables|' || count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind IN ('r', 'm') AND " + SYSTEM_SCHEMAS + ";\n"
          + "\\endif\n";

  /**
   * A role name as hex of its UTF-8 bytes: a name may hold any character, '|', a newline or
   * spaces at its ends included, and must come back exactly as it is.
   */
  private static String hex(String column) {
    return "encode(convert_to(" + column + "::text, 'UTF8'), 'hex')";
  }

  private static List<String> unhex(List<String> values) {
    List<String> names = new ArrayList<>();
    for (String value : values) {
      try {
        names.add(new String(java.util.HexFormat.of().parseHex(value), java.nio.charset.StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        // Not ours: psql printed only what the script selected, so this cannot happen.
      }
    }
    return names;
  }

  /** What {@link #describeWithRoles()} found: the facts, and every role on this server. */
  public record Described(DatabaseFacts facts, Set<String> roles) {
    public Described {
      roles = Set.copyOf(roles);
    }

    /** Which of {@code wanted} exist on this server. */
    public Set<String> existing(List<String> wanted) {
      Set<String> found = new HashSet<>();
      for (String role : wanted) {
        if (roles.contains(role)) {
          found.add(role);
        }
      }
      return found;
    }
  }

  public DatabaseFacts describe() {
    return describeWithRoles().facts();
  }

  /**
   * The facts, with the server's roles for checking a source's grantees. The tools' versions and
   * the unit states are read while psql runs: the checks are independent, and together they are
   * most of a preflight's time.
   */
  public Described describeWithRoles() {
    DatabaseSettings db = pg.database();
    List<String> errors = new ArrayList<>();
    CompletableFuture<Probe<String>> dumpVersion = CompletableFuture.supplyAsync(() -> version("pg_dump"), PROBES);
    CompletableFuture<Probe<String>> restoreVersion = CompletableFuture.supplyAsync(() -> version("pg_restore"), PROBES);
    CompletableFuture<Probe<List<String>>> active = CompletableFuture.supplyAsync(this::activeUnits, PROBES);
    CompletableFuture<Boolean> osUser = CompletableFuture.supplyAsync(() -> osUserExists(db.role()), PROBES);
    String staging = stagingName(db.name());
    Map<String, List<String>> read = new HashMap<>();
    boolean exists = false;
    try {
      PgTools.Output out =
          pg.run(db.superuser(), "postgres", DESCRIBE_SQL, Map.of("db", db.name(), "role", db.role(), "staging", staging));
      for (String line : out.stdout().split("\n")) {
        int bar = line.indexOf('|');
        if (bar > 0) {
          read.computeIfAbsent(line.substring(0, bar).strip(), k -> new ArrayList<>()).add(line.substring(bar + 1).strip());
        }
      }
      exists = read.containsKey("size");
      if (!read.containsKey("roles")) {
        errors.add("cannot query the PostgreSQL server at " + db.socketDir() + " as " + db.superuser() + ": "
            + (out.exitCode() == 0 ? "no answer" : ProcessRunner.tail(out.stderr())));
      } else if (exists && !read.containsKey("tables")) {
        errors.add("cannot read the database " + db.name() + ": " + ProcessRunner.tail(out.stderr()));
      }
    } catch (CommandFailedException e) {
      errors.add("cannot query the PostgreSQL server at " + db.socketDir() + " as " + db.superuser() + ": " + e.getMessage());
    }
    String server = first(read, "server").replaceAll("\\s.*", "");
    String dataDirText = first(read, "datadir");
    Path dataDir = dataDirText.isEmpty() ? null : Path.of(dataDirText);
    long size = exists ? parseLong(first(read, "size"), -1) : -1;
    int tables = (int) parseLong(first(read, "tables"), 0);
    FileStore dataStore = dataDir == null ? null : store(dataDir);
    FileStore spoolStore = dataDir == null ? null : store(spoolDir(dataDir));
    Probe<String> dump = dumpVersion.join();
    Probe<String> restore = restoreVersion.join();
    Probe<List<String>> units = active.join();
    for (Probe<?> probe : List.of(dump, restore, units)) {
      probe.error().ifPresent(errors::add);
    }
    boolean systemd = units.value() != null;
    DatabaseFacts facts = new DatabaseFacts(
        db.name(), db.role(), db.superuser(), dataDir == null ? "" : dataDir.toString(), server, dump.value(), restore.value(),
        exists, size, first(read, "encoding"), "true".equals(first(read, "role")), osUser.join(),
        unhex(read.getOrDefault("grantee", List.of())).stream().sorted().toList(), tables, free(dataStore), free(spoolStore),
        dataStore != null && dataStore.equals(spoolStore), "true".equals(first(read, "staging")), staging, systemd,
        systemd ? units.value() : List.of(), errors);
    return new Described(facts, new HashSet<>(unhex(read.getOrDefault("roles", List.of()))));
  }

  /** A value read alongside others, or why it could not be. */
  private record Probe<T>(T value, Optional<String> error) {}

  private static String first(Map<String, List<String>> read, String tag) {
    List<String> values = read.get(tag);
    return values == null || values.isEmpty() ? "" : values.get(0);
  }

  private static long parseLong(String text, long otherwise) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }

  /** Whether the layout's database exists (one query; {@link #describe()} tells more). */
  public boolean databaseExists() throws CommandFailedException {
    return "t".equals(
        pg.superuserQuery("postgres", "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db');\n",
            Map.of("db", pg.database().name())).strip());
  }

  /** Counts the layout's database. */
  public DatabaseCounts counts() throws CommandFailedException {
    return counts(pg.database().name());
  }

  /** Counts {@code database} on this server, as the superuser (who may read every table). */
  public DatabaseCounts counts(String database) throws CommandFailedException {
    Map<String, Long> tables = new HashMap<>();
    Map<String, Long> sequences = new HashMap<>();
    Set<String> unused = new TreeSet<>();
    for (String line : pg.superuserQuery(database, COUNTS_SQL, Map.of()).split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      int first = line.indexOf('|');
      int last = line.lastIndexOf('|');
      if (first < 0 || last <= first) {
        throw new CommandFailedException("unexpected psql output while counting: " + line);
      }
      String name = line.substring(first + 1, last);
      String value = line.substring(last + 1);
      switch (line.substring(0, first)) {
        case "T" -> tables.put(name, Long.parseLong(value));
        case "S" -> {
          if (value.isEmpty()) {
            unused.add(name);
          } else {
            sequences.put(name, Long.parseLong(value));
          }
        }
        default -> throw new CommandFailedException("unexpected psql output while counting: " + line);
      }
    }
    return new DatabaseCounts(tables, sequences, unused);
  }

  private Probe<String> version(String tool) {
    try {
      return new Probe<>(pg.toolVersion(tool), Optional.empty());
    } catch (CommandFailedException e) {
      return new Probe<>("", Optional.of(tool + " in " + pg.bindir() + ": " + e.getMessage()));
    }
  }

  private boolean osUserExists(String name) {
    try {
      return runner.run(List.of("id", "-u", "--", name), Duration.ofSeconds(10)).ok();
    } catch (CommandFailedException e) {
      return false;
    }
  }

  /** The active Mastodon units; a null value when systemd is not running (nothing to check). */
  private Probe<List<String>> activeUnits() {
    if (!systemctl.isRunning()) {
      return new Probe<>(null, Optional.empty());
    }
    Set<String> names = new LinkedHashSet<>(units);
    try {
      names.addAll(systemctl.list("mastodon-"));
      List<String> active = new ArrayList<>();
      for (UnitState state : systemctl.show(new ArrayList<>(names))) {
        // The init units are oneshots that stay "active (exited)"; they do not touch the data.
        if (state.isActive() && !state.name().startsWith("mastodon-init")) {
          active.add(state.name());
        }
      }
      return new Probe<>(active, Optional.empty());
    } catch (CommandFailedException e) {
      return new Probe<>(List.of(), Optional.of("cannot read unit states: " + e.getMessage()));
    }
  }

  private static FileStore store(Path path) {
    try {
      Path existing = path;
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      return existing == null ? null : Files.getFileStore(existing);
    } catch (IOException | InvalidPathException e) {
      return null;
    }
  }

  private static long free(FileStore store) {
    try {
      return store == null ? -1 : store.getUsableSpace();
    } catch (IOException e) {
      return -1;
    }
  }
}
