package dev.ferry.controller.demo;

import dev.ferry.common.identity.Fingerprints;
import dev.ferry.common.localpg.LocalCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Checks a finished migration independently of ferry's own verification: the database's rows and
 * sequences, every media file's bytes, owner and mode, the secrets, and the set-aside database.
 */
public final class DemoCheck {
  private DemoCheck() {}

  /** What was checked, and whether everything held. */
  public record Result(boolean passed, List<String> lines) {
    public String summary() {
      return String.join("\n", lines) + "\ndemo: " + (passed ? "all checks passed" : "SOME CHECKS FAILED");
    }
  }

  /** Row counts of every table and materialized view, then every sequence's last value, of schema public. */
  public static final String COUNTS_SQL =
      "SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text), ',' ORDER BY c.relname)"
          + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm');"
          + "SELECT string_agg(format('%s=%s', sequencename, last_value), ',' ORDER BY sequencename) FROM pg_sequences WHERE schemaname = 'public';";

  static Result check(LocalCluster sourcePg, String sourceDb, LocalCluster targetPg, String targetDb,
      Path sourceMedia, Path targetMedia, Map<String, String> sourceSecrets, Path targetSecrets) throws Exception {
    List<String> lines = new ArrayList<>();
    boolean ok = true;
    String source = sourcePg.psql(sourceDb, COUNTS_SQL);
    String target = targetPg.psql(targetDb, COUNTS_SQL);
    ok &= line(lines, source.equals(target), "database rows and sequences equal (" + source.lines().findFirst().orElse("") + ")");
    String aside = targetPg.psql("postgres", "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '" + targetDb + "_before_ferry_%'");
    ok &= line(lines, !aside.isEmpty(), "old target database set aside as " + (aside.isEmpty() ? "(none)" : aside));
    Map<String, String> a = hashes(sourceMedia);
    Map<String, String> b = hashes(targetMedia);
    ok &= line(lines, a.equals(b), "media byte-exact: " + a.size() + " files on the source, " + b.size() + " on the target");
    List<String> badOwner = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(targetMedia)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        PosixFileAttributes attrs = Files.readAttributes(p, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        String expected = attrs.isDirectory() ? "rwxr-x---" : "rw-r-----";
        if (!attrs.owner().getName().equals("mastodon") || !attrs.group().getName().equals("mastodon")
            || !PosixFilePermissions.toString(attrs.permissions()).equals(expected)) {
          badOwner.add(targetMedia.relativize(p) + " " + attrs.owner().getName() + ":" + attrs.group().getName() + " "
              + PosixFilePermissions.toString(attrs.permissions()));
        }
      }
    }
    ok &= line(lines, badOwner.isEmpty(), "media owned mastodon:mastodon, 0640 files / 0750 dirs"
        + (badOwner.isEmpty() ? "" : ": " + badOwner.subList(0, Math.min(3, badOwner.size()))));
    List<String> wrong = new ArrayList<>();
    for (var entry : sourceSecrets.entrySet()) {
      Path file = targetSecrets.resolve(entry.getKey());
      if (!Files.exists(file) || !Files.readString(file).strip().equals(entry.getValue())
          || !PosixFilePermissions.toString(Files.getPosixFilePermissions(file)).equals("rw-------")) {
        wrong.add(entry.getKey());
      }
    }
    ok &= line(lines, wrong.isEmpty(), "secrets carried over (" + sourceSecrets.size() + " files, 0600)"
        + (wrong.isEmpty() ? "" : "; wrong: " + wrong));
    return new Result(ok, lines);
  }

  private static boolean line(List<String> lines, boolean ok, String text) {
    lines.add("demo: [" + (ok ? " ok " : "FAIL") + "] " + text);
    return ok;
  }

  /** SHA-256 of every regular file under {@code root}, by relative path. */
  public static Map<String, String> hashes(Path root) throws IOException {
    Map<String, String> hashes = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          hashes.put(root.relativize(p).toString(), Fingerprints.sha256Hex(Files.readAllBytes(p)));
        }
      }
    }
    return hashes;
  }
}
