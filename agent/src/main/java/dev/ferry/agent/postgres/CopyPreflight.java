package dev.ferry.agent.postgres;

import dev.ferry.agent.postgres.Problem.Severity;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decides whether a copy may run, from both sides' facts. Pure: the same check runs on the
 * target for {@code CheckCopy} and again at the start of {@code CopyDatabase}, against facts
 * the source reports itself.
 */
public final class CopyPreflight {
  /** How many names a message lists before "and N more". */
  private static final int MAX_NAMES_SHOWN = 20;

  /** Room on top of the source's size: WAL, and a restored database is rarely smaller by much. */
  static final double DATA_MARGIN = 1.10;
  static final long FIXED_MARGIN = 64L << 20;
  /** A custom-format archive is compressed and holds no index data; half the size is generous. */
  static final double ARCHIVE_RATIO = 0.5;

  private CopyPreflight() {}

  /**
   * @param targetRoles which of the source's grantees exist on the target server
   */
  public static List<Problem> check(
      DatabaseFacts source, DatabaseFacts target, java.util.Set<String> targetRoles, CopyOptions options) {
    List<Problem> problems = new ArrayList<>();
    for (String error : source.errors()) {
      problems.add(refusal("source", "source_unreadable", error));
    }
    for (String error : target.errors()) {
      problems.add(refusal("target", "target_unreadable", error));
    }
    roles(source, target, targetRoles, problems);
    versions(source, target, problems);
    if (source.databaseExists() && source.databaseSizeBytes() >= 0) {
      disk(source, target, options, problems);
    }
    units(source, "source", "stop them first ('ferry service NAME stop'), so nothing writes while it is dumped", problems);
    units(target, "target", "stop them first ('ferry service NAME stop'): they would hold the database being replaced", problems);
    if (target.stagingExists()) {
      problems.add(new Problem(Severity.WARNING, "target", "leftover_staging",
          "a staging database " + target.stagingName() + " from an earlier, cut run exists; it will be dropped and the copy started again"));
    }
    return problems;
  }

  private static void roles(
      DatabaseFacts source, DatabaseFacts target, java.util.Set<String> targetRoles, List<Problem> problems) {
    if (source.errors().isEmpty() && !source.databaseExists()) {
      problems.add(refusal("source", "missing_database",
          "database " + source.databaseName() + " does not exist on the source; set db.name in the source agent's config"));
    }
    if (source.errors().isEmpty() && !source.roleExists()) {
      problems.add(refusal("source", "missing_role",
          "role " + source.role() + " does not exist on the source server; set db.role in the source agent's config to the role Mastodon connects as"));
    }
    if (!source.osUserExists()) {
      problems.add(refusal("source", "missing_os_user",
          "there is no OS user " + source.role() + " on the source, so pg_dump cannot connect as role " + source.role()
              + " with peer authentication; set db.role in the source agent's config to Mastodon's user"));
    }
    if (target.errors().isEmpty() && !target.roleExists()) {
      problems.add(refusal("target", "missing_role",
          "role " + target.role() + " does not exist on the target server; create it: sudo -u " + target.superuser()
              + " createuser " + target.role() + " (NixOS: services.mastodon creates it when database.createLocally is on),"
              + " or set db.role in the target agent's config"));
    }
    List<String> missing = new ArrayList<>();
    for (String grantee : source.grantees()) {
      if (!grantee.equals(source.role()) && !targetRoles.contains(grantee)) {
        missing.add(grantee);
      }
    }
    if (!missing.isEmpty()) {
      // The names come from the other side: show a bounded number, shell-quoted, because the
      // message suggests commands that a user may paste into a shell.
      List<String> shown = missing.subList(0, Math.min(missing.size(), MAX_NAMES_SHOWN));
      String more = missing.size() > shown.size() ? " and " + (missing.size() - shown.size()) + " more" : "";
      problems.add(refusal("target", "missing_grantee_roles",
          "the source database grants privileges to role(s) " + String.join(", ", shown.stream().map(CopyPreflight::shellQuote).toList())
              + more + " that do not exist on the target; the restore would stop at the first GRANT. Create them on the target ("
              + String.join("; ", shown.stream().map(r -> "sudo -u " + target.superuser() + " createuser " + shellQuote(r)).toList())
              + (more.isEmpty() ? "" : "; ...") + ") or revoke those grants on the source"));
    }
  }

  /** A name as one shell word, control characters escaped so the message stays one readable line. */
  static String shellQuote(String name) {
    if (name.matches("[A-Za-z0-9_.-]+")) {
      return name;
    }
    StringBuilder b = new StringBuilder("'");
    for (char c : name.toCharArray()) {
      if (c == '\'') {
        b.append("'\\''");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('\'').toString();
  }

  private static void versions(DatabaseFacts source, DatabaseFacts target, List<Problem> problems) {
    Integer dump = major(source.pgDumpVersion());
    Integer server = major(source.serverVersion());
    Integer restore = major(target.pgRestoreVersion());
    Integer targetServer = major(target.serverVersion());
    if (dump != null && server != null && dump < server) {
      problems.add(refusal("source", "version_skew_dump",
          "pg_dump on the source is version " + source.pgDumpVersion() + " but the source server is " + source.serverVersion()
              + "; pg_dump cannot dump a newer server. Install the PostgreSQL " + server
              + " client tools on the source (Debian/Ubuntu: apt-get install postgresql-client-" + server
              + ") and point pg.bindir in the source agent's config at them"));
    }
    if (dump != null && restore != null && restore < dump) {
      problems.add(refusal("target", "version_skew_restore",
          "pg_restore on the target is version " + target.pgRestoreVersion() + " but the source's pg_dump is "
              + source.pgDumpVersion() + "; an older pg_restore cannot read a newer archive (\"unsupported version in file header\")."
              + " Install PostgreSQL " + dump + " or newer client tools on the target (NixOS: add postgresql_" + dump
              + " to environment.systemPackages) and set pg.bindir in the target agent's config, or use pg_dump "
              + restore + " on the source if its server is not newer"));
    }
    if (server != null && targetServer != null && targetServer < server) {
      problems.add(new Problem(Severity.NEEDS_CONFIRMATION, "target", "older_target_server",
          "the target server is PostgreSQL " + target.serverVersion() + ", older than the source's " + source.serverVersion()
              + "; a dump is not guaranteed to load into an older server. Upgrade the target's PostgreSQL"
              + " (NixOS: services.postgresql.package) or pass --yes to try anyway"));
    }
    if (dump == null && source.errors().isEmpty()) {
      problems.add(refusal("source", "missing_pg_dump", "pg_dump was not found on the source; install the PostgreSQL client tools or set pg.bindir"));
    }
    if (restore == null && target.errors().isEmpty()) {
      problems.add(refusal("target", "missing_pg_restore", "pg_restore was not found on the target; install the PostgreSQL client tools or set pg.bindir"));
    }
  }

  private static void disk(DatabaseFacts source, DatabaseFacts target, CopyOptions options, List<Problem> problems) {
    long database = (long) (source.databaseSizeBytes() * DATA_MARGIN) + FIXED_MARGIN;
    long archive = options.parallel() ? (long) (source.databaseSizeBytes() * ARCHIVE_RATIO) + FIXED_MARGIN : 0;
    boolean shared = target.spoolOnDataFilesystem();
    long dataNeeded = database + (shared ? archive : 0);
    if (target.dataFreeBytes() >= 0 && target.dataFreeBytes() < dataNeeded) {
      problems.add(refusal("target", "disk_space",
          "the target's database filesystem has " + size(target.dataFreeBytes()) + " free but the copy needs about "
              + size(dataNeeded) + " (the source database is " + size(source.databaseSizeBytes())
              + (shared && archive > 0 ? ", plus the spooled archive for --jobs" : "")
              + "); free space there or grow the filesystem"
              + (target.databaseExists() ? " (the existing database is kept, renamed aside, so it still counts)" : "")));
    }
    if (!shared && archive > 0 && target.spoolFreeBytes() >= 0 && target.spoolFreeBytes() < archive) {
      problems.add(refusal("target", "disk_space_spool",
          "--jobs spools the archive in the agent's state directory, which has " + size(target.spoolFreeBytes())
              + " free but needs about " + size(archive) + "; free space there or copy without --jobs (streamed, no spool)"));
    }
  }

  private static void units(DatabaseFacts facts, String side, String remedy, List<Problem> problems) {
    if (!facts.systemdRunning()) {
      problems.add(new Problem(Severity.WARNING, side, "units_unchecked",
          "could not check whether Mastodon is running on the " + side + " (systemd is not running there); make sure it is stopped"));
    } else if (!facts.activeUnits().isEmpty()) {
      problems.add(new Problem(Severity.NEEDS_CONFIRMATION, side, "units_active",
          "Mastodon units are active on the " + side + ": " + String.join(", ", facts.activeUnits()) + "; " + remedy
              + ", or pass --yes to copy anyway"));
    }
  }

  private static Problem refusal(String side, String code, String message) {
    return new Problem(Severity.REFUSAL, side, code, message);
  }

  static Integer major(String version) {
    if (version == null || !version.matches("\\d+.*")) {
      return null;
    }
    return PgTools.major(version);
  }

  static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String units = "KMGTPE";
    int exp = (int) (Math.log(bytes) / Math.log(1024));
    return String.format(Locale.ROOT, "%.1f %siB", bytes / Math.pow(1024, exp), units.charAt(exp - 1));
  }
}
