package dev.ferry.agent.postgres;

import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running {@code pg_dump -Fc}: its archive is read from {@link #archive()}, then {@link
 * #finish()} says whether it succeeded. Its stderr is drained (bounded) so it never blocks.
 */
public final class DumpProcess implements AutoCloseable {
  private static final int STDERR_KEPT = 8192;
  private final Process process;
  private final Thread stderrDrain;
  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

  private DumpProcess(Process process) {
    this.process = process;
    this.stderrDrain = new Thread(this::drainStderr, "pg_dump-stderr");
    stderrDrain.setDaemon(true);
    stderrDrain.start();
  }

  public static DumpProcess start(PgTools pg, ProcessRunner runner) throws CommandFailedException {
    List<String> argv = pg.dumpArgv();
    Process process = runner.start(argv, Map.of());
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // pg_dump reads nothing; a stdin that cannot be closed does not matter.
    }
    return new DumpProcess(process);
  }

  /** The archive bytes, in order. */
  public InputStream archive() {
    return process.getInputStream();
  }

  /** Waits for pg_dump to exit after its archive was read to the end. */
  public void finish() throws CommandFailedException {
    try {
      if (!process.waitFor(5, TimeUnit.MINUTES)) {
        Processes.kill(process);
        throw new CommandFailedException("pg_dump did not exit after its output ended");
      }
      stderrDrain.join(5000);
    } catch (InterruptedException e) {
      Processes.kill(process);
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted while waiting for pg_dump");
    }
    if (process.exitValue() != 0) {
      throw new CommandFailedException(List.of("pg_dump"), process.exitValue(), stderrText());
    }
  }

  private synchronized String stderrText() {
    return stderr.toString(StandardCharsets.UTF_8);
  }

  private void drainStderr() {
    byte[] buffer = new byte[4096];
    try (InputStream in = process.getErrorStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        synchronized (this) {
          if (stderr.size() < STDERR_KEPT) {
            stderr.write(buffer, 0, Math.min(n, STDERR_KEPT - stderr.size()));
          }
        }
      }
    } catch (IOException e) {
      // The process went away; finish() reports its exit code.
    }
  }

  /** Kills pg_dump if it still runs (the receiver went away). */
  @Override
  public void close() {
    if (process.isAlive()) {
      Processes.kill(process);
    }
  }
}
