package dev.ferry.agent.services;

/** One unit as systemd reports it. */
public record UnitState(String name, String activeState, String subState, String loadState) {
  public boolean exists() {
    return !"not-found".equals(loadState);
  }

  public boolean isActive() {
    return "active".equals(activeState);
  }

  public boolean isStopped() {
    return "inactive".equals(activeState) || "failed".equals(activeState);
  }
}
