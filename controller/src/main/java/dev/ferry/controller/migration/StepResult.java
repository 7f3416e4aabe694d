package dev.ferry.controller.migration;

/**
 * What a step did.
 *
 * @param skipped true when the step did nothing on purpose; detail says why
 */
public record StepResult(long files, long bytes, String detail, boolean skipped) {
  public static StepResult done(long files, long bytes, String detail) {
    return new StepResult(files, bytes, detail, false);
  }

  public static StepResult done(String detail) {
    return new StepResult(0, 0, detail, false);
  }

  public static StepResult skipped(String why) {
    return new StepResult(0, 0, why, true);
  }
}
