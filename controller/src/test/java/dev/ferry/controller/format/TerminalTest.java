package dev.ferry.controller.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress is drawn when standard error is a terminal, whatever stdout is. Each case runs a child
 * JVM under {@code script}, which gives it a real pseudo-terminal, with the redirections a user
 * would type.
 */
class TerminalTest {
  @TempDir Path dir;

  @Test
  void everyDescriptorOnTheTerminal() throws Exception {
    assertEquals("stderr=true ask=true console=true", probe(""));
  }

  @Test
  void stdoutToAFileStillShowsProgress() throws Exception {
    // `ferry media sync --json > report.json`: System.console() says no one is watching.
    assertEquals("stderr=true ask=true console=false", probe("> " + dir.resolve("report.json")));
  }

  @Test
  void stderrToALogDrawsNothing() throws Exception {
    // `ferry media sync 2> sync.log`: System.console() would have drawn into the log.
    assertEquals("stderr=false ask=false console=true", probe("2> " + dir.resolve("sync.log")));
  }

  @Test
  void noQuestionWithoutATerminalToAnswerOn() throws Exception {
    // `ferry migrate < /dev/null`: a prompt there would read end-of-file as "no".
    assertEquals("stderr=true ask=false console=false", probe("< /dev/null"));
  }

  @Test
  void pipesAreNotATerminal() throws Exception {
    // This test's own JVM, as surefire forks it, has pipes or files on its descriptors.
    Path out = dir.resolve("piped.txt");
    Path log = dir.resolve("piped.log");
    finish(new ProcessBuilder(java(), "-cp", classpath(), TerminalProbe.class.getName(), out.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()), log);
    assertEquals("stderr=false ask=false console=false", Files.readString(out).strip());
  }

  @Test
  void aClosedOrMissingDescriptorIsNotATerminal() {
    assertEquals(false, Terminal.isTerminalDevice(dir.resolve("no-such-fd")));
  }

  private String probe(String redirections) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "needs script(1) from util-linux (bsdutils)");
    assumeTrue(Files.exists(Path.of("/dev/ptmx")), "needs pseudo-terminals (/dev/ptmx)");
    Path out = dir.resolve("probe-" + System.nanoTime() + ".txt");
    String command = String.join(" ", quote(java()), "-cp", quote(classpath()), TerminalProbe.class.getName(),
        quote(out.toString()), redirections);
    Path transcript = dir.resolve("probe-" + System.nanoTime() + ".log");
    finish(new ProcessBuilder(List.of("/usr/bin/script", "-qec", command, "/dev/null"))
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(transcript.toFile()), transcript);
    return Files.readString(out).strip();
  }

  /** Runs the child with its output in a file, so the wait below bounds it; kills it if it hangs. */
  private static void finish(ProcessBuilder builder, Path transcript) throws Exception {
    Process child = builder.start();
    try {
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the probe did not finish within 60 s");
      assertEquals(0, child.exitValue(), "the probe failed: " + Files.readString(transcript));
    } finally {
      child.destroyForcibly();
    }
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Just the two class directories the probe needs, not surefire's (possibly manifest-only) jar. */
  private static String classpath() throws Exception {
    return Path.of(Terminal.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        + File.pathSeparator
        + Path.of(TerminalProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  private static String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'";
  }
}
