package dev.ferry.controller.migration;

import java.util.List;

/** Preflight found a problem; nothing was stopped or changed. */
public final class PreflightRefusedException extends Exception {
  private final List<Check> checks;

  public PreflightRefusedException(List<Check> checks) {
    super("preflight refused the migration; nothing was changed");
    this.checks = List.copyOf(checks);
  }

  public List<Check> checks() {
    return checks;
  }
}
