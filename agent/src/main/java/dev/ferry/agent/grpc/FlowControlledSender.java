package dev.ferry.agent.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Sends on a server stream only when the transport is ready, blocking the (worker) thread that
 * produces otherwise, so a slow receiver slows the producer and memory stays bounded. Must not be
 * used from a gRPC callback thread: the readiness callback runs on the call's own executor.
 */
final class FlowControlledSender<T> {
  private static final long STALL_LIMIT_NANOS = TimeUnit.MINUTES.toNanos(10);
  private final ServerCallStreamObserver<T> observer;
  private final Object lock = new Object();
  private volatile boolean cancelled;

  FlowControlledSender(StreamObserver<T> responses) {
    this.observer = (ServerCallStreamObserver<T>) responses;
    observer.setOnReadyHandler(this::wake);
    observer.setOnCancelHandler(() -> {
      cancelled = true;
      wake();
    });
  }

  void send(T message) throws IOException {
    long began = System.nanoTime();
    synchronized (lock) {
      while (!observer.isReady() && !cancelled) {
        if (System.nanoTime() - began > STALL_LIMIT_NANOS) {
          throw new IOException("the receiver took no data for 10 minutes");
        }
        try {
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while sending", e);
        }
      }
    }
    if (cancelled) {
      throw new IOException("the caller cancelled");
    }
    observer.onNext(message);
  }

  boolean cancelled() {
    return cancelled;
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }
}
