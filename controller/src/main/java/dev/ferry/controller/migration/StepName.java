package dev.ferry.controller.migration;

/** The steps of a migration, in order (design.md section 5). */
public enum StepName {
  PREFLIGHT("preflight", "check both hosts; nothing is stopped if a check fails", false),
  PRESYNC_MEDIA("media pre-sync", "copy media while the source still serves (no downtime)", false),
  STOP_TARGET("stop target", "stop the target's Mastodon units", false),
  WRITE_SECRETS("write secrets", "carry SECRET_KEY_BASE, OTP and VAPID keys before any target unit starts", false),
  STOP_SOURCE("stop source", "stop the source's Mastodon units: downtime starts", true),
  COPY_DATABASE("database", "pg_dump streamed into pg_restore on the target, verified, swapped", true),
  FINAL_MEDIA("media delta", "send only what changed since the pre-sync", true),
  REDIS("redis", "copy the Redis dump (only with --with-redis)", true),
  START_TARGET("start target", "start the target's units (init-dirs, then init-db migrates)", true),
  FEEDS_BUILD("feeds build", "tootctl feeds build on the target", true),
  SMOKE_TEST("smoke test", "/health and /api/v1/instance on the target: downtime ends", true);

  private final String label;
  private final String description;
  private final boolean duringDowntime;

  StepName(String label, String description, boolean duringDowntime) {
    this.label = label;
    this.description = description;
    this.duringDowntime = duringDowntime;
  }

  public String label() {
    return label;
  }

  public String description() {
    return description;
  }

  public boolean duringDowntime() {
    return duringDowntime;
  }
}
