package dev.ferry.controller.client;

import java.time.Duration;

/**
 * Where a running media sync stands, as the target agent reports it (a few times per second).
 *
 * @param phase "scanning", "transferring", "deleting" or "finishing"
 * @param bytesDone bytes received so far (tar stream, so slightly above file bytes)
 */
public record MediaProgress(
    String phase, long filesScanned, long filesPlanned, long bytesPlanned, long filesDone, long bytesDone, Duration elapsed) {

  /** Bytes per second so far, or 0 before the first second. */
  public long bytesPerSecond() {
    long millis = elapsed.toMillis();
    return millis < 1000 ? 0 : bytesDone * 1000 / millis;
  }

  /** Time left at the current rate, if it can be estimated. */
  public java.util.Optional<Duration> eta() {
    long rate = bytesPerSecond();
    if (rate <= 0 || !"transferring".equals(phase)) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(Duration.ofSeconds(Math.max(0, bytesPlanned - bytesDone) / rate));
  }
}
