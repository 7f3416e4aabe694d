package dev.ferry.controller.cli;

/** The exit codes scripts rely on (design.md section 4). */
public final class ExitCodes {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int REFUSED_BY_PREFLIGHT = 3;

  private ExitCodes() {}
}
