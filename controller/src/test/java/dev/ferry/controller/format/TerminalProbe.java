package dev.ferry.controller.format;

import java.nio.file.Files;
import java.nio.file.Path;

/** Run by {@link TerminalTest} in a child JVM: writes what it finds about its own descriptors. */
public final class TerminalProbe {
  private TerminalProbe() {}

  public static void main(String[] args) throws Exception {
    Files.writeString(Path.of(args[0]),
        "stderr=" + Terminal.stderrIsTerminal() + " ask=" + Terminal.canAsk() + " console=" + (System.console() != null) + "\n");
  }
}
