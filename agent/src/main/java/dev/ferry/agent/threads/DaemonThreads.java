package dev.ferry.agent.threads;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Daemon threads named {@code PREFIX-1}, {@code PREFIX-2}, ...: a pool's threads never keep the
 * agent from exiting, and a thread dump says which pool each belongs to.
 */
public final class DaemonThreads implements ThreadFactory {
  private final String prefix;
  private final AtomicInteger count = new AtomicInteger();

  public DaemonThreads(String prefix) {
    this.prefix = prefix;
  }

  @Override
  public Thread newThread(Runnable r) {
    Thread thread = new Thread(r, prefix + "-" + count.incrementAndGet());
    thread.setDaemon(true);
    return thread;
  }
}
