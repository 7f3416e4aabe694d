package dev.ferry.controller.client;

import java.util.List;

/** The target's preflight refused the copy; nothing was changed. */
public final class DbCopyRefusedException extends Exception {
  private final transient List<DbProblem> problems;

  public DbCopyRefusedException(String host, List<DbProblem> problems) {
    super(host + ": database copy refused by preflight: "
        + String.join("; ", problems.stream().filter(p -> p.severity() != DbProblem.Severity.WARNING).map(DbProblem::message).toList()));
    this.problems = List.copyOf(problems);
  }

  public List<DbProblem> problems() {
    return problems;
  }
}
