package dev.ferry.controller.cli;

import java.io.PrintWriter;

/** One self-overwriting line on a terminal, redrawn as a copy goes on. */
final class ProgressLine {
  private static final String TO_LINE_START_AND_ERASE = "\r\033[K";

  private final PrintWriter err;

  ProgressLine(PrintWriter err) {
    this.err = err;
  }

  void show(String text) {
    err.print(TO_LINE_START_AND_ERASE + text);
    err.flush();
  }

  void clear() {
    err.print(TO_LINE_START_AND_ERASE);
    err.flush();
  }
}
