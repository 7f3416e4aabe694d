package dev.ferry.agent.postgres;

/** Stopping the pg tools, which run under runuser. */
final class Processes {
  private Processes() {}

  /**
   * Kills the tool and runuser both: SIGKILL to runuser alone would leave the tool running as
   * an orphan, still holding its connection.
   */
  static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }
}
