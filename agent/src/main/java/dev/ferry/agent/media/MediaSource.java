package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.function.Consumer;

/** The source agent as the puller sees it; the gRPC adapter implements it over a peer connection. */
public interface MediaSource {
  /** Streams the source's manifest to {@code sink}; returns when it is complete. */
  void manifest(ManifestBuilder.Sink sink) throws IOException;

  /**
   * Starts the transfer of {@code requests} (taken as flow control allows, possibly on another
   * thread) and returns the tar stream. {@code onMissing} is called, on the reading thread and in
   * stream order, for each requested path the source no longer has. Closing the stream cancels.
   */
  InputStream read(Iterator<FileRequest> requests, Consumer<String> onMissing) throws IOException;
}
