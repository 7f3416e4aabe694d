package dev.ferry.controller.client;

import java.util.List;

/** The database preflight's verdict: every problem found, and both sides' facts. */
public record DbPreflight(List<DbProblem> problems, DbSide source, DbSide target) {
  public DbPreflight {
    problems = List.copyOf(problems);
  }

  /** Whether a copy with this confirmation would be refused. */
  public boolean refuses(boolean confirmed) {
    return problems.stream().anyMatch(p -> p.blocks(confirmed));
  }
}
