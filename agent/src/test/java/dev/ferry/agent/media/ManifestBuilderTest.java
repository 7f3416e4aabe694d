package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The source's manifest lists only what is inside the root, even when the tree changes under the walk. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ManifestBuilderTest {
  @TempDir Path dir;

  private Path tree() throws Exception {
    Path root = Files.createDirectories(dir.resolve("system"));
    Files.createDirectories(root.resolve("a/b"));
    Files.writeString(root.resolve("a/b/f1"), "first");
    Files.createSymbolicLink(root.resolve("a/link"), Path.of("b/f1"));
    Files.writeString(root.resolve("top"), "top");
    Files.createDirectories(dir.resolve("outside"));
    Files.writeString(dir.resolve("outside/secret"), "root-only");
    return root;
  }

  private static List<String> walk(Path root, ManifestBuilder.Sink also) throws Exception {
    List<String> listed = new ArrayList<>();
    ManifestBuilder.walk(root, entry -> {
      listed.add(entry.kind() + " " + entry.path() + (entry.linkTarget().isEmpty() ? "" : " -> " + entry.linkTarget()));
      also.accept(entry);
    });
    return listed;
  }

  @Test
  void listsDepthFirstInNameOrderWithoutFollowingSymlinks() throws Exception {
    Path root = tree();
    Files.createSymbolicLink(root.resolve("a/escape"), dir.resolve("outside"));
    assertEquals(0, new ProcessBuilder("mkfifo", root.resolve("a/fifo").toString()).start().waitFor());
    assertEquals(
        List.of("DIRECTORY a", "DIRECTORY a/b", "FILE a/b/f1", "SYMLINK a/escape -> " + dir.resolve("outside"),
            "SYMLINK a/link -> b/f1", "FILE top"),
        walk(root, entry -> { }));
  }

  @Test
  void aDirectorySwappedForASymlinkWhileTheWalkIsInItLeadsNowhere() throws Exception {
    Path root = tree();
    List<String> listed = walk(root, entry -> {
      if (entry.path().equals("a/b")) {
        // Swapped between being looked at and being listed: listed by name, the walk would now
        // enter outside/ and put its names in the manifest.
        Files.move(root.resolve("a/b"), root.resolve("a/b-moved"));
        Files.createSymbolicLink(root.resolve("a/b"), dir.resolve("outside"));
      }
    });
    assertEquals(List.of("DIRECTORY a", "DIRECTORY a/b", "FILE a/b/f1", "SYMLINK a/link -> b/f1", "FILE top"), listed);
  }
}
