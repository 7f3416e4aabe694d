package dev.ferry.agent.grpc;

import com.google.protobuf.ByteString;
import dev.ferry.agent.postgres.DatabaseCounts;
import dev.ferry.agent.postgres.DatabaseFacts;
import dev.ferry.agent.postgres.DumpSource;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.DescribeDatabaseRequest;
import dev.ferry.proto.v1.DumpDatabaseRequest;
import dev.ferry.proto.v1.DumpDatabaseResponse;
import dev.ferry.proto.v1.PeerSource;
import io.grpc.Context;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * The target's view of a source agent's dump, over a ticketed peer connection. The dump is read
 * with the blocking stub's iterator, which asks the source for one message at a time, so at most
 * a few chunks are buffered whatever the speeds of the two sides.
 */
final class PeerDumpSource implements DumpSource {
  private final PeerConnector.PeerConnection connection;
  private final DatabaseServiceGrpc.DatabaseServiceBlockingStub stub;
  private final Context.CancellableContext context = Context.ROOT.withCancellation();

  private PeerDumpSource(PeerConnector.PeerConnection connection) {
    this.connection = connection;
    this.stub = DatabaseServiceGrpc.newBlockingStub(connection.channel());
  }

  /** Connects and redeems the ticket; the source's refusal comes back as its status. */
  static PeerDumpSource connect(PeerConnector connector, PeerSource source) throws StatusException {
    return new PeerDumpSource(connector.connect(source));
  }

  @Override
  public DatabaseFacts describe() throws IOException {
    try {
      return DatabaseProtos.fromProto(
          stub.withDeadlineAfter(2, TimeUnit.MINUTES).describeDatabase(DescribeDatabaseRequest.getDefaultInstance()).getFacts());
    } catch (StatusRuntimeException e) {
      throw new SourceFailure("the source agent could not describe its database", e);
    }
  }

  @Override
  public Dump open() throws IOException {
    Iterator<DumpDatabaseResponse> responses;
    DumpDatabaseResponse first;
    try {
      responses = context.call(() -> stub.dumpDatabase(DumpDatabaseRequest.getDefaultInstance()));
      first = responses.next();
    } catch (StatusRuntimeException e) {
      throw new SourceFailure("the source agent could not start the dump", e);
    } catch (Exception e) {
      throw new IOException("could not start the dump: " + e.getMessage(), e);
    }
    if (!first.hasHeader()) {
      context.cancel(null);
      throw new IOException("the source agent's dump did not start with a header");
    }
    return new PeerDump(responses);
  }

  @Override
  public void close() {
    context.cancel(null);
    connection.close();
  }

  /** A failure reported by the source agent; keeps its status code. */
  static final class SourceFailure extends IOException implements Statuses.HasStatusCode {
    private final String code;

    SourceFailure(String what, StatusRuntimeException e) {
      super(what + ": " + e.getStatus().getCode() + " " + (e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription()), e);
      this.code = e.getStatus().getCode().name();
    }

    @Override
    public String statusCode() {
      return code;
    }
  }

  private final class PeerDump extends InputStream implements Dump {
    private final Iterator<DumpDatabaseResponse> responses;
    private ByteString current = ByteString.EMPTY;
    private int position;
    private DatabaseCounts after;

    PeerDump(Iterator<DumpDatabaseResponse> responses) {
      this.responses = responses;
    }

    @Override
    public InputStream archive() {
      return this;
    }

    @Override
    public DatabaseCounts countsAfter() throws IOException {
      if (after == null) {
        throw new IOException("the source agent's dump ended without its trailer");
      }
      return after;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      while (position >= current.size()) {
        if (after != null || !advance()) {
          return -1;
        }
      }
      int n = Math.min(length, current.size() - position);
      current.copyTo(buffer, position, offset, n);
      position += n;
      return n;
    }

    /** Takes the next message; false at the trailer. */
    private boolean advance() throws IOException {
      try {
        if (!responses.hasNext()) {
          throw new IOException("the source agent's dump ended without its trailer");
        }
        DumpDatabaseResponse next = responses.next();
        if (next.hasTrailer()) {
          after = DatabaseProtos.fromProto(next.getTrailer().getCounts());
          // Drain the end of the call so the source sees it completed.
          while (responses.hasNext()) {
            responses.next();
          }
          return false;
        }
        current = next.getChunk();
        position = 0;
        return true;
      } catch (StatusRuntimeException e) {
        throw new SourceFailure("the source agent's dump failed", e);
      }
    }

    @Override
    public void close() {
      if (after == null) {
        context.cancel(null);
      }
    }
  }
}
