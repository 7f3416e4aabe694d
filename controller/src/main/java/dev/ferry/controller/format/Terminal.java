package dev.ferry.controller.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a person is watching standard error, so that a redrawn progress line helps rather than
 * litters a log. {@code System.console()} cannot tell: on Java 17 it asks whether stdin and stdout
 * are terminals, so {@code ferry media sync --json > report.json} at a prompt would show no
 * progress, and {@code ferry media sync 2> sync.log} would fill the log with carriage returns.
 */
public final class Terminal {
  private static final Path FD_DIR = Path.of("/proc/self/fd");

  private Terminal() {}

  /** True if file descriptor 2 is a terminal: progress lines are drawn there. */
  public static boolean stderrIsTerminal() {
    return isTerminal(2);
  }

  /** True if a question can be put on stderr and answered on stdin, whatever stdout is. */
  public static boolean canAsk() {
    return isTerminal(0) && isTerminal(2);
  }

  private static boolean isTerminal(int fd) {
    if (!Files.isDirectory(FD_DIR)) {
      // Not Linux (ferry's agents are, a controller may not be): the closest the JDK offers.
      return System.console() != null;
    }
    return isTerminalDevice(FD_DIR.resolve(Integer.toString(fd)));
  }

  /** Whether the descriptor link {@code fd} (under /proc/self/fd) names a terminal device. */
  static boolean isTerminalDevice(Path fd) {
    String device;
    try {
      device = Files.readSymbolicLink(fd).toString();
    } catch (IOException e) {
      return false; // closed, or not ours to read: nobody to draw for
    }
    // Pseudo-terminals (ssh, terminal emulators, tmux), virtual and serial consoles.
    return device.startsWith("/dev/pts/") || device.startsWith("/dev/tty") || device.equals("/dev/console");
  }
}
