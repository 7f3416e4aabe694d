package dev.ferry.controller.db;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * Directories that stand in for a PostgreSQL bin directory: every tool a symlink to the real
 * one, except one small wrapper script. Used where a test needs what this machine cannot have:
 * only PostgreSQL 15 is installable here, so another major is simulated by a wrapper that
 * reports it for {@code --version}. World-readable, because psql and pg_restore run as the
 * postgres and mastodon users.
 */
final class PgWrappers {
  private PgWrappers() {}

  /** {@code tool --version} reports {@code version}; everything else runs the real tools. */
  static Path reportingVersion(Path bindir, String tool, String version) throws IOException {
    return withScript(bindir, tool,
        "#!/bin/sh\n"
            + "if [ \"$1\" = \"--version\" ]; then echo '" + tool + " (PostgreSQL) " + version + "'; exit 0; fi\n"
            + "exec '" + bindir.resolve(tool) + "' \"$@\"\n");
  }

  /**
   * pg_dump passes its first {@code bytes} bytes and then stalls, like a link that stopped
   * moving; the test then kills the agent mid-dump.
   */
  static Path stallingDumpAfter(Path bindir, long bytes) throws IOException {
    return withScript(bindir, "pg_dump",
        "#!/bin/sh\n"
            + "if [ \"$1\" = \"--version\" ]; then exec '" + bindir.resolve("pg_dump") + "' --version; fi\n"
            + "'" + bindir.resolve("pg_dump") + "' \"$@\" | { head -c " + bytes + "; sleep 120; }\n");
  }

  /**
   * pg_dump runs normally, then a row is written to the source, as if Mastodon were still
   * running: after pg_dump's snapshot, before the source counts itself.
   */
  static Path writingAfterDump(Path bindir, Path socketDir, String database, String role) throws IOException {
    return withScript(bindir, "pg_dump",
        "#!/bin/sh\n"
            + "if [ \"$1\" = \"--version\" ]; then exec '" + bindir.resolve("pg_dump") + "' --version; fi\n"
            + "'" + bindir.resolve("pg_dump") + "' \"$@\" || exit $?\n"
            + "'" + bindir.resolve("psql") + "' -X -q -h '" + socketDir + "' -U " + role + " -d " + database
            + " -c \"INSERT INTO accounts (username) VALUES ('written_during_the_dump')\" >/dev/null\n");
  }

  private static Path withScript(Path bindir, String tool, String script) throws IOException {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "ferry-pgbin-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (Stream<Path> tools = Files.list(bindir)) {
      for (Path real : (Iterable<Path>) tools::iterator) {
        if (!real.getFileName().toString().equals(tool)) {
          Files.createSymbolicLink(dir.resolve(real.getFileName()), real);
        }
      }
    }
    Path wrapper = dir.resolve(tool);
    Files.writeString(wrapper, script);
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  static void delete(Path dir) throws IOException {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.delete(file);
      }
    }
    Files.delete(dir);
  }
}
