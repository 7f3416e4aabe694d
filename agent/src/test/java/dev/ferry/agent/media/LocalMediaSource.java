package dev.ferry.agent.media;

import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.function.Consumer;

/** A source in the same process: the real manifest and tar writer, joined by a pipe instead of gRPC. */
final class LocalMediaSource implements MediaSource {
  private final Path root;

  LocalMediaSource(Path root) {
    this.root = root;
  }

  @Override
  public void manifest(ManifestBuilder.Sink sink) throws IOException {
    ManifestBuilder.walk(root, sink);
  }

  @Override
  public InputStream read(RequestFeed requests, Consumer<String> onMissing) throws IOException {
    PipedInputStream in = new PipedInputStream(256 * 1024);
    PipedOutputStream out = new PipedOutputStream(in);
    Thread writer = new Thread(() -> {
      try (MediaTarWriter tar = new MediaTarWriter(root, out)) {
        FileRequest r;
        while (true) {
          if ((r = requests.poll()) == null) {
            tar.flush(); // as the agent does when it has nothing to serve next
            out.flush();
            if ((r = requests.next()) == null) {
              break;
            }
          }
          if (!Files.exists(root.resolve(r.path()), LinkOption.NOFOLLOW_LINKS) || !tar.write(r)) {
            onMissing.accept(r.path());
          }
        }
        tar.finish();
      } catch (IOException | InterruptedException e) {
        // The reader sees the broken pipe.
      }
    }, "local-media-source");
    writer.setDaemon(true);
    writer.start();
    return in;
  }
}
