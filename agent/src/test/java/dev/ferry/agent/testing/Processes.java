package dev.ferry.agent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs test-support commands (ip, nsenter, systemd-nspawn) with argument lists and a timeout.
 * Output goes to temp files rather than pipes, so a chatty command can never block on a full
 * pipe and no drain threads are needed.
 */
public final class Processes {
  private Processes() {}

  /** How a command ended. {@code exitCode} is -1 when it was killed at its timeout. */
  public record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** Both streams, for failure messages. */
    public String output() {
      return (stdout + (stderr.isEmpty() ? "" : "\n" + stderr)).strip();
    }
  }

  public static Result run(Duration timeout, List<String> argv) throws IOException {
    Path out = Files.createTempFile("ferry-proc-", ".out");
    Path err = Files.createTempFile("ferry-proc-", ".err");
    try {
      Process process =
          new ProcessBuilder(argv)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      boolean done;
      try {
        done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!done) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          process.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException(argv.get(0) + " interrupted", e);
      }
      return new Result(
          done ? process.exitValue() : -1,
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Runs and fails with the command's output unless it exits 0. */
  public static Result check(Duration timeout, String... argv) throws IOException {
    Result result = run(timeout, List.of(argv));
    if (!result.ok()) {
      throw new IOException(
          String.join(" ", argv) + (result.exitCode() < 0 ? " timed out" : " exited " + result.exitCode())
              + ": " + result.output());
    }
    return result;
  }
}
