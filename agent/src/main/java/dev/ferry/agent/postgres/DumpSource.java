package dev.ferry.agent.postgres;

import java.io.IOException;
import java.io.InputStream;

/**
 * Where a copy's dump comes from: in production a source agent over a ticketed peer connection
 * (the grpc package adapts it). Implementations report a cut link as an {@link IOException}
 * from {@link Dump#archive()}'s reads.
 */
public interface DumpSource extends AutoCloseable {
  /** The source's facts, for the preflight. */
  DatabaseFacts describe() throws IOException;

  /** Starts the dump. */
  Dump open() throws IOException;

  /** Cuts whatever is in flight. */
  @Override
  void close();

  /** One dump in flight. */
  interface Dump extends AutoCloseable {
    /** The archive; EOF after its last byte, an IOException if the stream was cut. */
    InputStream archive();

    /** The source's counts taken just after pg_dump finished; valid once archive() hit EOF. */
    DatabaseCounts countsAfter() throws IOException;

    @Override
    void close();
  }
}
