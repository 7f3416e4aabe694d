package dev.ferry.agent.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A tmpfs mounted over a test's directory (needs root): a disk that fills up on cue, or gigabytes
 * written at memory speed. Unmounted on close.
 */
public final class Tmpfs implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final Path at;

  private Tmpfs(Path at) {
    this.at = at;
  }

  /** Mounts a tmpfs named {@code name} with mount options {@code options} (e.g. "size=4m") at {@code at}. */
  public static Tmpfs mount(Path at, String name, String options) throws IOException {
    Processes.check(TIMEOUT, "mount", "-t", "tmpfs", "-o", options, name, at.toString());
    return new Tmpfs(at);
  }

  /** Where it is mounted. */
  public Path path() {
    return at;
  }

  /** Lazily: an agent still shutting down inside it does not keep the mount alive. */
  @Override
  public void close() throws IOException {
    Processes.check(TIMEOUT, "umount", "-l", at.toString());
  }
}
