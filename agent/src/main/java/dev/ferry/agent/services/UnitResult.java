package dev.ferry.agent.services;

/**
 * One unit after a service action.
 *
 * @param unit the unit name as asked
 * @param outcome the verdict
 * @param activeState systemd's ActiveState when ferry last looked
 * @param subState systemd's SubState
 * @param result systemd's Result property ({@code success}, {@code exit-code}, {@code timeout}...)
 */
public record UnitResult(String unit, UnitOutcome outcome, String activeState, String subState, String result) {
  /** Not running, whether cleanly or after a failure: what a caller waiting for "stopped" needs. */
  public boolean stopped() {
    return outcome == UnitOutcome.INACTIVE || outcome == UnitOutcome.FAILED || outcome == UnitOutcome.NOT_FOUND;
  }
}
