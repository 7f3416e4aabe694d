package dev.ferry.agent.media;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.function.Consumer;

/** The target's tar reader as the reader tests use it: owner root, NixOS modes, 1 MiB tail. */
final class TarReaders {
  private TarReaders() {}

  static MediaTarReader reader(Path root, Consumer<String> onRefused) throws IOException {
    var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    TargetPolicy policy = new TargetPolicy(lookup.lookupPrincipalByName("root"), lookup.lookupPrincipalByGroupName("root"),
        OptionalInt.of(0640), OptionalInt.of(0750), 1 << 20);
    return new MediaTarReader(new RootGuard(root), policy, new MediaTarReader.Listener() {
      @Override
      public void received(MediaEntry entry, long offset, long bytesOverWire) {}

      @Override
      public void bytes(long n) {}

      @Override
      public void refused(String line) {
        onRefused.accept(line);
      }
    });
  }
}
