package dev.ferry.agent.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;

/**
 * Lets a worker thread that produces a server stream wait until gRPC can take another message,
 * so a slow receiver makes the sender wait instead of piling messages up in memory.
 */
final class ReadyGate {
  private final ServerCallStreamObserver<?> call;
  private final Object lock = new Object();
  private volatile boolean cancelled;

  ReadyGate(ServerCallStreamObserver<?> call) {
    this.call = call;
    call.setOnReadyHandler(this::signal);
    call.setOnCancelHandler(
        () -> {
          cancelled = true;
          signal();
        });
  }

  private void signal() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  boolean cancelled() {
    return cancelled || call.isCancelled();
  }

  /** Blocks until the call is ready for a message; throws if the peer went away. */
  void await() throws IOException {
    synchronized (lock) {
      while (!call.isReady()) {
        if (cancelled()) {
          throw new IOException("the caller cancelled the call");
        }
        try {
          // The handler notifies; the timeout only guards against a lost wake-up.
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for the receiver");
        }
      }
    }
  }
}
