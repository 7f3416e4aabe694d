package dev.ferry.agent.services;

/** Where a unit ended up after a service action, as reported per unit. */
public enum UnitOutcome {
  /** Running (or, for a oneshot with RemainAfterExit, done and still counted active). */
  ACTIVE,
  /** Not running, cleanly. */
  INACTIVE,
  /** Not running, and systemd recorded a failure (failed to start, or killed at its stop timeout). */
  FAILED,
  /** Still on its way (activating, deactivating) when ferry's wait ran out. */
  TIMED_OUT,
  /** Activating, deactivating or reloading when a status was asked (status only). */
  CHANGING,
  /** systemd does not know the unit. */
  NOT_FOUND;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}
