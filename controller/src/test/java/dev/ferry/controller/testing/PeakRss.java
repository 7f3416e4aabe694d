package dev.ferry.controller.testing;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/** The largest resident sets two agents reach, sampled from /proc on a thread of its own until stopped. */
public final class PeakRss {
  private final ChildAgent source;
  private final ChildAgent target;
  private final AtomicLong sourcePeak;
  private final AtomicLong targetPeak;
  private volatile boolean stopped;
  private final Thread sampler;

  private PeakRss(ChildAgent source, ChildAgent target, long intervalMillis) throws IOException {
    this.source = source;
    this.target = target;
    this.sourcePeak = new AtomicLong(source.residentBytes());
    this.targetPeak = new AtomicLong(target.residentBytes());
    this.sampler = new Thread(() -> sample(intervalMillis), "rss-sampler");
  }

  public static PeakRss start(ChildAgentPair agents, long intervalMillis) throws IOException {
    PeakRss peaks = new PeakRss(agents.source(), agents.target(), intervalMillis);
    peaks.sampler.start();
    return peaks;
  }

  private void sample(long intervalMillis) {
    while (!stopped && source.alive() && target.alive()) {
      try {
        sourcePeak.accumulateAndGet(source.residentBytes(), Math::max);
        targetPeak.accumulateAndGet(target.residentBytes(), Math::max);
        Thread.sleep(intervalMillis);
      } catch (IOException | InterruptedException e) {
        return; // an agent exited between the check and the read; the test sees it die
      }
    }
  }

  /** Stops sampling and waits for the sampler to end. */
  public void stop() throws InterruptedException {
    stopped = true;
    sampler.join(5_000);
  }

  public long source() {
    return sourcePeak.get();
  }

  public long target() {
    return targetPeak.get();
  }
}
