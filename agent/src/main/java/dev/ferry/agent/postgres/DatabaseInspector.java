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
import java.util.Set;
import java.util.TreeSet;

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

  public DatabaseFacts describe() {
    DatabaseSettings db = pg.database();
    List<String> errors = new ArrayList<>();
    String dumpVersion = version("pg_dump", errors);
    String restoreVersion = version("pg_restore", errors);
    String server = "";
    boolean exists = false;
    long size = -1;
    String encoding = "";
    boolean roleExists = false;
    boolean stagingExists = false;
    Path dataDir = null;
    String staging = stagingName(db.name());
    try {
      String out =
          pg.superuserQuery(
              "postgres",
              "SELECT current_setting('server_version'), current_setting('data_directory'),"
                  + " (SELECT pg_database_size(datname) FROM pg_database WHERE datname = :'db'),"
                  + " (SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = :'db'),"
                  + " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role'),"
                  + " EXISTS (SELECT 1 FROM pg_database WHERE datname = :'staging');\n",
              Map.of("db", db.name(), "role", db.role(), "staging", staging));
      String[] f = out.strip().split("\\|", -1);
      server = f[0].replaceAll("\\s.*", "");
      dataDir = Path.of(f[1]);
      exists = !f[2].isEmpty();
      size = exists ? Long.parseLong(f[2]) : -1;
      encoding = f[3];
      roleExists = "t".equals(f[4]);
      stagingExists = "t".equals(f[5]);
    } catch (CommandFailedException | RuntimeException e) {
      errors.add("cannot query the PostgreSQL server at " + db.socketDir() + " as " + db.superuser() + ": " + e.getMessage());
    }
    List<String> grantees = List.of();
    int tables = 0;
    if (exists) {
      try {
        grantees = lines(pg.superuserQuery(db.name(), GRANTEES_SQL, Map.of()));
        String count =
            pg.superuserQuery(db.name(),
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE c.relkind IN ('r', 'm') AND " + SYSTEM_SCHEMAS + ";\n", Map.of());
        tables = Integer.parseInt(count.strip());
      } catch (CommandFailedException | NumberFormatException e) {
        errors.add("cannot read the database " + db.name() + ": " + e.getMessage());
      }
    }
    FileStore dataStore = dataDir == null ? null : store(dataDir);
    FileStore spoolStore = dataDir == null ? null : store(spoolDir(dataDir));
    boolean systemd = systemctl.isRunning();
    return new DatabaseFacts(
        db.name(), db.role(), db.superuser(), dataDir == null ? "" : dataDir.toString(), server, dumpVersion, restoreVersion, exists, size, encoding,
        roleExists, osUserExists(db.role()), grantees, tables, free(dataStore), free(spoolStore),
        dataStore != null && dataStore.equals(spoolStore), stagingExists, staging, systemd,
        systemd ? activeUnits(errors) : List.of(), errors);
  }

  /** Whether the layout's database exists (one query; {@link #describe()} tells more). */
  public boolean databaseExists() throws CommandFailedException {
    return "t".equals(
        pg.superuserQuery("postgres", "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db');\n",
            Map.of("db", pg.database().name())).strip());
  }

  /** Which of {@code roles} exist on this server. */
  public Set<String> existingRoles(List<String> roles) throws CommandFailedException {
    if (roles.isEmpty()) {
      return Set.of();
    }
    // One query for all: the list comes from the caller and may be long; one psql per name would
    // let a request start any number of processes. Role names cannot hold a newline or NUL.
    Set<String> all = new HashSet<>(lines(pg.superuserQuery("postgres", "SELECT rolname FROM pg_roles;\n", Map.of())));
    Set<String> found = new HashSet<>();
    for (String role : roles) {
      if (all.contains(role)) {
        found.add(role);
      }
    }
    return found;
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

  private String version(String tool, List<String> errors) {
    try {
      return pg.toolVersion(tool);
    } catch (CommandFailedException e) {
      errors.add(tool + " in " + pg.bindir() + ": " + e.getMessage());
      return "";
    }
  }

  private boolean osUserExists(String name) {
    try {
      return runner.run(List.of("id", "-u", "--", name), Duration.ofSeconds(10)).ok();
    } catch (CommandFailedException e) {
      return false;
    }
  }

  private List<String> activeUnits(List<String> errors) {
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
      return active;
    } catch (CommandFailedException e) {
      errors.add("cannot read unit states: " + e.getMessage());
      return List.of();
    }
  }

  private static List<String> lines(String out) {
    return out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
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
