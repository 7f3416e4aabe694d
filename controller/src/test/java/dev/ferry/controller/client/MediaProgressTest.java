package dev.ferry.controller.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.controller.format.Sizes;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The progress line a person watching a media sync or a migration sees. */
class MediaProgressTest {
  @Test
  void transferringShowsFilesBytesRateAndTimeLeft() {
    // 100 MiB of 1 GiB in 10 s: 10 MiB/s, so 924 MiB take 92 s more.
    MediaProgress p = new MediaProgress("transferring", 5000, 4000, 1L << 30, 1234, 100L << 20, Duration.ofSeconds(10));
    assertEquals("1,234/4,000 files, 100.0 MiB/1.0 GiB, 10.0 MiB/s, ETA 1m32s", p.describe());
  }

  @Test
  void noRateOrTimeLeftInTheFirstSecond() {
    MediaProgress p = new MediaProgress("transferring", 10, 10, 2048, 1, 1024, Duration.ofMillis(400));
    assertEquals("1/10 files, 1.0 KiB/2.0 KiB, 0 B/s", p.describe());
  }

  @Test
  void scanningCountsEntries() {
    assertEquals("scanning: 78,055 entries", new MediaProgress("scanning", 78055, 0, 0, 0, 0, Duration.ofSeconds(3)).describe());
  }

  @Test
  void otherPhasesByName() {
    assertEquals("finishing...", new MediaProgress("finishing", 1, 1, 1, 1, 1, Duration.ofSeconds(3)).describe());
  }

  @Test
  void theEventBeforeAnythingIsPlannedSaysNothing() {
    assertFalse(new MediaProgress("transferring", 0, 0, 0, 0, 0, Duration.ofMillis(100)).saysSomething());
    assertTrue(new MediaProgress("transferring", 10, 1, 5, 0, 0, Duration.ofMillis(300)).saysSomething());
    assertTrue(new MediaProgress("scanning", 0, 0, 0, 0, 0, Duration.ofMillis(100)).saysSomething());
    assertTrue(new MediaProgress("finishing", 10, 0, 0, 0, 0, Duration.ofSeconds(1)).saysSomething());
  }

  @Test
  void timeLeftReadsAtAGlance() {
    assertEquals("0s", Sizes.duration(Duration.ZERO));
    assertEquals("59s", Sizes.duration(Duration.ofSeconds(59)));
    assertEquals("3m05s", Sizes.duration(Duration.ofSeconds(185)));
    assertEquals("59m59s", Sizes.duration(Duration.ofSeconds(3599)));
    assertEquals("2h05m", Sizes.duration(Duration.ofMinutes(125).plusSeconds(30)));
  }
}
