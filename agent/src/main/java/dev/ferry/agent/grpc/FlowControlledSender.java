package dev.ferry.agent.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.time.Duration;

/**
 * Sends on a server stream only when the transport is ready ({@link ReadyGate}), blocking the
 * (worker) thread that produces otherwise, so a slow receiver slows the producer and memory stays
 * bounded; a receiver that takes nothing for 10 minutes ends the stream. Must not be used from a
 * gRPC callback thread: the readiness callback runs on the call's own executor.
 */
final class FlowControlledSender<T> {
  private static final Duration STALL_LIMIT = Duration.ofMinutes(10);
  private final ServerCallStreamObserver<T> observer;
  private final ReadyGate gate;

  FlowControlledSender(StreamObserver<T> responses) {
    this.observer = (ServerCallStreamObserver<T>) responses;
    this.gate = new ReadyGate(observer);
  }

  void send(T message) throws IOException {
    gate.await(STALL_LIMIT);
    observer.onNext(message);
  }

  boolean cancelled() {
    return gate.cancelled();
  }
}
