package dev.ferry.agent.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The only place the agent starts processes. Always an argument list, never a shell; output is
 * bounded; a timeout kills the process.
 */
public class ProcessRunner {
  public static final int TIMED_OUT = -2;
  private static final int MAX_CAPTURE = 1 << 20;
  private static final int TAIL = 2000;
  // Drains block on pipes, so they get threads of their own, never the common pool.
  private static final java.util.concurrent.ExecutorService DRAINS =
      java.util.concurrent.Executors.newCachedThreadPool(
          runnable -> {
            Thread thread = new Thread(runnable, "process-drain");
            thread.setDaemon(true);
            return thread;
          });

  /** What a finished command printed. */
  public record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    public String stderrTail() {
      return tail(stderr);
    }
  }

  /**
   * The argv that runs {@code argv} as {@code user}. The agent runs as root, so it switches with
   * runuser (util-linux, present on Debian, Ubuntu and NixOS); as that user already, it runs the
   * command directly.
   */
  public List<String> asUser(String user, List<String> argv) {
    if (user.equals(currentUser())) {
      return argv;
    }
    List<String> full = new ArrayList<>(List.of("runuser", "-u", user, "--"));
    full.addAll(argv);
    return full;
  }

  public String currentUser() {
    return System.getProperty("user.name");
  }

  public Result run(List<String> argv, Duration timeout) throws CommandFailedException {
    return run(argv, Map.of(), timeout);
  }

  /** Runs a command to completion, capturing (bounded) stdout and stderr. */
  public Result run(List<String> argv, Map<String, String> env, Duration timeout)
      throws CommandFailedException {
    Process process = start(argv, env);
    try {
      process.getOutputStream().close();
      CompletableFuture<String> out = drain(process.getInputStream());
      CompletableFuture<String> err = drain(process.getErrorStream());
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
        return new Result(TIMED_OUT, out.getNow(""), err.getNow(""));
      }
      return new Result(process.exitValue(), out.join(), err.join());
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CommandFailedException(argv.get(0) + " was interrupted");
    } catch (IOException e) {
      process.destroyForcibly();
      throw new CommandFailedException(argv.get(0) + ": " + e.getMessage());
    }
  }

  /** Runs a command and fails unless it exits 0. */
  public Result check(List<String> argv, Map<String, String> env, Duration timeout)
      throws CommandFailedException {
    Result result = run(argv, env, timeout);
    if (!result.ok()) {
      throw new CommandFailedException(argv, result.exitCode(), result.stderrTail());
    }
    return result;
  }

  /** Starts a process whose streams the caller owns (for streaming tools like pg_dump). */
  public Process start(List<String> argv, Map<String, String> env) throws CommandFailedException {
    ProcessBuilder builder = new ProcessBuilder(argv);
    builder.environment().putAll(env);
    try {
      return builder.start();
    } catch (IOException e) {
      throw new CommandFailedException("cannot run " + argv.get(0) + ": " + e.getMessage());
    }
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            ByteArrayOutputStream kept = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) >= 0) {
              int room = MAX_CAPTURE - kept.size();
              if (room > 0) {
                kept.write(buffer, 0, Math.min(room, n));
              }
            }
            return kept.toString(StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        DRAINS);
  }

  public static String tail(String text) {
    return text.length() <= TAIL ? text : "..." + text.substring(text.length() - TAIL);
  }
}
