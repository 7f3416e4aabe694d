package dev.ferry.agent.process;

import java.util.List;

/** A command that exited non-zero, timed out or could not start. Carries a bounded stderr tail. */
public final class CommandFailedException extends Exception {
  private final int exitCode;

  public CommandFailedException(List<String> argv, int exitCode, String stderrTail) {
    super(describe(argv, exitCode, stderrTail));
    this.exitCode = exitCode;
  }

  public CommandFailedException(String message) {
    super(message);
    this.exitCode = -1;
  }

  public int exitCode() {
    return exitCode;
  }

  private static String describe(List<String> argv, int exitCode, String stderrTail) {
    String what = argv.isEmpty() ? "command" : argv.get(0);
    String status = exitCode == ProcessRunner.TIMED_OUT ? "timed out" : "exited with " + exitCode;
    String tail = stderrTail.isBlank() ? "" : ": " + stderrTail.strip();
    return what + " " + status + tail;
  }
}
