package dev.ferry.controller.client;

import dev.ferry.controller.format.Sizes;
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

  /**
   * One line for a person: files and bytes done of those planned so far, the rate and the time
   * left. {@code media sync} redraws it; {@code migrate} prints it every few seconds.
   */
  public String describe() {
    return switch (phase) {
      case "scanning" -> "scanning: " + Sizes.count(filesScanned) + " entries";
      case "transferring" -> String.format(java.util.Locale.ROOT, "%s/%s files, %s/%s, %s/s%s",
          Sizes.count(filesDone), Sizes.count(filesPlanned), Sizes.bytes(bytesDone), Sizes.bytes(bytesPlanned),
          Sizes.bytes(bytesPerSecond()), eta().map(d -> ", ETA " + Sizes.duration(d)).orElse(""));
      default -> phase + "...";
    };
  }

  /**
   * False for the event the target sends as the transfer starts, before the manifest has planned
   * anything: "0/0 files, 0 B/0 B" tells a person nothing, and {@code migrate}, which prints a
   * line every few seconds, would then hold back the next useful one.
   */
  public boolean saysSomething() {
    return !("transferring".equals(phase) && filesPlanned == 0);
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
