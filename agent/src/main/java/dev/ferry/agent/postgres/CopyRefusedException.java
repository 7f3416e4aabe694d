package dev.ferry.agent.postgres;

import dev.ferry.agent.grpc.Statuses;
import java.util.List;

/** The preflight refused the copy; nothing was changed. */
public final class CopyRefusedException extends Exception implements Statuses.HasStatusCode {
  private final transient List<Problem> problems;

  public CopyRefusedException(List<Problem> problems) {
    super("refused by preflight: " + String.join("; ", problems.stream().map(Problem::message).toList()));
    this.problems = List.copyOf(problems);
  }

  /** All problems found, including warnings. */
  public List<Problem> problems() {
    return problems;
  }

  @Override
  public String statusCode() {
    return "FAILED_PRECONDITION";
  }
}
