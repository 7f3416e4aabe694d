package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;

/** The source agent as the puller sees it; the gRPC adapter implements it over a peer connection. */
public interface MediaSource {
  /** Streams the source's manifest to {@code sink}; returns when it is complete. */
  void manifest(ManifestBuilder.Sink sink) throws IOException;

  /**
   * Starts the transfer of the requests in {@code requests} (taken as they arrive and as flow
   * control allows, possibly on another thread) and returns the tar stream. {@code onMissing} is
   * called, from any thread but before the stream ends, for each requested path the source no
   * longer has. Closing the stream cancels the transfer.
   */
  InputStream read(RequestFeed requests, Consumer<String> onMissing) throws IOException;
}
