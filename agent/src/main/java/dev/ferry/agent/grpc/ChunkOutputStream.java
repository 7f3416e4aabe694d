package dev.ferry.agent.grpc;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.ReadFilesResponse;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Cuts the tar stream into ReadFiles chunks of at most {@link #CHUNK} bytes and sends each only
 * when the call is ready, so memory holds one buffer plus what gRPC's on-ready threshold allows.
 */
final class ChunkOutputStream extends OutputStream {
  // Large messages keep the number of thread hand-offs per byte low; AgentServer accepts 2 MiB.
  static final int CHUNK = 1024 * 1024;

  private final ServerCallStreamObserver<ReadFilesResponse> call;
  private final ReadyGate gate;
  private final byte[] buffer = new byte[CHUNK];
  private int used;

  ChunkOutputStream(ServerCallStreamObserver<ReadFilesResponse> call, ReadyGate gate) {
    this.call = call;
    this.gate = gate;
  }

  @Override
  public void write(int b) throws IOException {
    if (used == buffer.length) {
      emit();
    }
    buffer[used++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      if (used == buffer.length) {
        emit();
      }
      int n = Math.min(len, buffer.length - used);
      System.arraycopy(b, off, buffer, used, n);
      used += n;
      off += n;
      len -= n;
    }
  }

  /** Sends whatever is buffered. */
  @Override
  public void flush() throws IOException {
    if (used > 0) {
      emit();
    }
  }

  /** Sends a non-chunk message in stream order (after the buffered bytes). */
  void send(ReadFilesResponse message) throws IOException {
    flush();
    gate.await();
    call.onNext(message);
  }

  private void emit() throws IOException {
    gate.await();
    call.onNext(ReadFilesResponse.newBuilder().setChunk(ByteString.copyFrom(buffer, 0, used)).build());
    used = 0;
  }

  @Override
  public void close() {
    // The call is completed by the owner, after the tar's end records are flushed.
  }
}
