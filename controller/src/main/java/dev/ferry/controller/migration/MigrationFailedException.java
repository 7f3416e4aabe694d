package dev.ferry.controller.migration;

/** A migration stopped at a step; the journal says where, and {@code --resume} continues. */
public final class MigrationFailedException extends Exception {
  private final StepName step;

  public MigrationFailedException(StepName step, String message, Throwable cause) {
    super(step.label() + " failed: " + message, cause);
    this.step = step;
  }

  public StepName step() {
    return step;
  }
}
