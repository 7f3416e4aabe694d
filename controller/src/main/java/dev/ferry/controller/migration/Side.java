package dev.ferry.controller.migration;

/** Which end of a migration. */
public enum Side {
  SOURCE,
  TARGET;

  public String label() {
    return this == SOURCE ? "source" : "target";
  }
}
