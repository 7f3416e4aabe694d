package dev.ferry.agent.postgres;

import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A running pg_restore. Follows its verbose stderr to count the tables restored, and keeps the
 * error lines (bounded) to say why it failed.
 */
final class RestoreProcess implements AutoCloseable {
  private static final int KEPT_LINES = 30;
  private final Process process;
  private final Thread follower;
  private final AtomicInteger tables = new AtomicInteger();
  private final Deque<String> errorLines = new ArrayDeque<>();
  private final Deque<String> lastLines = new ArrayDeque<>();

  private RestoreProcess(Process process) {
    this.process = process;
    this.follower = new Thread(this::follow, "pg_restore-stderr");
    follower.setDaemon(true);
    follower.start();
  }

  static RestoreProcess start(ProcessRunner runner, List<String> argv) throws CommandFailedException {
    return new RestoreProcess(runner.start(argv, Map.of()));
  }

  OutputStream stdin() {
    return process.getOutputStream();
  }

  int tablesRestored() {
    return tables.get();
  }

  boolean waitFor(long millis) throws CommandFailedException {
    try {
      return process.waitFor(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Processes.kill(process);
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted while waiting for pg_restore");
    }
  }

  /** Waits for pg_restore to exit (it does once its input ends) and returns its exit code. */
  int awaitExit() throws CommandFailedException {
    while (!waitFor(1000)) {
      // pg_restore may take long after the last byte (index builds); it is bounded by the data.
    }
    try {
      follower.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return process.exitValue();
  }

  /** Why pg_restore failed, from its error lines. */
  synchronized String failure() {
    Deque<String> lines = errorLines.isEmpty() ? lastLines : errorLines;
    String code = process.isAlive() ? "" : " (exit " + process.exitValue() + ")";
    return "pg_restore failed" + code + ": " + String.join(" | ", lines);
  }

  private void follow() {
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.contains("processing data for table") || line.contains("creating MATERIALIZED VIEW DATA")) {
          tables.incrementAndGet();
        }
        synchronized (this) {
          keep(lastLines, line);
          if (line.contains("error:") || line.contains("ERROR") || line.contains("FATAL")
              || line.startsWith("Command was:") || line.startsWith("DETAIL:") || line.contains("warning:")) {
            keep(errorLines, line);
          }
        }
      }
    } catch (IOException e) {
      // pg_restore went away; its exit code tells.
    }
  }

  private static void keep(Deque<String> lines, String line) {
    lines.addLast(line.length() > 500 ? line.substring(0, 500) + "..." : line);
    while (lines.size() > KEPT_LINES) {
      lines.removeFirst();
    }
  }

  /** Kills pg_restore if it still runs (the copy was abandoned). */
  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        process.getOutputStream().close();
      } catch (IOException e) {
        // Killed below anyway.
      }
      Processes.kill(process);
    }
  }
}
