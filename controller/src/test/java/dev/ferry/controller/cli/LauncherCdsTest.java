package dev.ferry.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.controller.testing.RepoRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/ferry's class-data archives: written by a subcommand's first run, mapped by later ones, and
 * one per subcommand in the cache, so that archives of earlier builds do not pile up; a
 * subcommand with none of its own maps the one a working {@code pair} wrote. The launcher
 * runs for real; the JVM is a stand-in that writes the archive it is asked for and logs its flags.
 */
class LauncherCdsTest {
  @TempDir Path dir;

  private static final String FAKE_JAVA = String.join("\n",
      "#!/usr/bin/env bash",
      "for a in \"$@\"; do",
      "  case \"$a\" in",
      "    -XX:ArchiveClassesAtExit=*) printf 'archive' > \"${a#*=}\" ;;",
      "    -XX:SharedArchiveFile=*) echo \"mapped ${a#*=}\" >> \"$FAKE_JAVA_LOG\" ;;",
      "  esac",
      "done",
      "echo \"ran $*\" >> \"$FAKE_JAVA_LOG\"",
      "exit \"${FAKE_JAVA_STATUS:-0}\"",
      "");
  private String fakeStatus = "0";

  @Test
  void aNewArchiveReplacesEarlierBuildsOfTheSameSubcommandAndIsMappedNextTime() throws Exception {
    setUpJarAndJava();
    Path cache = Files.createDirectories(dir.resolve("cache/ferry"));
    for (String name : List.of("ferry-controller-media-111.jsa", "ferry-controller-0.0.9-all-media-222.jsa",
        "ferry-controller-hosts-111.jsa", "notes.txt")) {
      Files.writeString(cache.resolve(name), "old");
    }

    assertEquals(0, ferry("media", "sync", "--from", "a", "--to", "b"));

    List<String> after = names(cache);
    List<String> written = after.stream().filter(n -> n.startsWith("ferry-controller-media-")).toList();
    assertEquals(1, written.size(), "one archive for media: " + after);
    assertTrue(written.get(0).matches("ferry-controller-media-[0-9]+\\.jsa") && !written.get(0).endsWith("-111.jsa"), after.toString());
    assertTrue(after.contains("ferry-controller-hosts-111.jsa"), "another subcommand's archive stays: " + after);
    assertTrue(after.contains("notes.txt"), "files that are not archives stay: " + after);
    assertEquals(3, after.size(), after.toString());

    assertEquals(0, ferry("media", "sync", "--from", "a", "--to", "b"));
    String log = Files.readString(dir.resolve("java.log"));
    assertTrue(log.contains("mapped " + cache.resolve(written.get(0))), log);
    assertEquals(after, names(cache));
  }

  @Test
  void aSubcommandWithoutAnArchiveOfItsOwnMapsTheOneAWorkingPairWrote() throws Exception {
    setUpJarAndJava();
    Path cache = Files.createDirectories(dir.resolve("cache/ferry"));

    fakeStatus = "1";
    assertEquals(1, ferry("pair", "a", "127.0.0.1:1", "--code", "x"));
    assertEquals(List.of(), names(cache), "a failed pair keeps no archive for the others to map");

    fakeStatus = "0";
    assertEquals(0, ferry("pair", "a", "127.0.0.1:1", "--code", "x"));
    List<String> written = names(cache);
    assertEquals(1, written.size(), written.toString());
    assertTrue(written.get(0).matches("ferry-controller-pair-[0-9]+\\.jsa"), written.toString());

    Files.delete(dir.resolve("java.log"));
    assertEquals(0, ferry("media", "sync", "--from", "a", "--to", "b"));
    String log = Files.readString(dir.resolve("java.log"));
    assertTrue(log.contains("mapped " + cache.resolve(written.get(0))), log);
    assertEquals(written, names(cache), "media maps pair's archive and writes none of its own");
  }

  private void setUpJarAndJava() throws IOException {
    Path jars = Files.createDirectories(dir.resolve("jars"));
    Files.writeString(jars.resolve("ferry-controller.jar"), "not really a jar");
    Path jdk = Files.createDirectories(dir.resolve("jdk/bin"));
    Files.writeString(jdk.resolve("java"), FAKE_JAVA);
    Files.setPosixFilePermissions(jdk.resolve("java"), PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private int ferry(String... args) throws Exception {
    List<String> argv = new java.util.ArrayList<>(List.of(RepoRoot.find().resolve("bin/ferry").toString()));
    argv.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(dir.resolve("out.txt").toFile());
    builder.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
    builder.environment().put("FERRY_JAR_DIR", dir.resolve("jars").toString());
    builder.environment().put("XDG_CACHE_HOME", dir.resolve("cache").toString());
    builder.environment().put("FAKE_JAVA_LOG", dir.resolve("java.log").toString());
    builder.environment().put("FAKE_JAVA_STATUS", fakeStatus);
    builder.environment().remove("FERRY_CDS");
    builder.environment().remove("FERRY_JAVA_OPTS");
    Process process = builder.start();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("bin/ferry did not finish");
    }
    return process.exitValue();
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }
}
