package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootGuardTest {
  @TempDir Path temp;
  private Path root;
  private Path outside;

  @BeforeEach
  void tree() throws IOException {
    root = Files.createDirectories(temp.resolve("root")).toRealPath();
    outside = Files.createDirectories(temp.resolve("outside/deep")).toRealPath();
    Files.createDirectories(root.resolve("cache/files/109/876/original"));
    Files.createDirectories(root.resolve("cache/files/109/877/original"));
    Files.createDirectories(root.resolve("cache/files/110"));
    Files.writeString(root.resolve("cache/files/plain"), "not a directory");
  }

  @Test
  void resolvesPathsWhoseParentsAreRealDirectories() throws IOException {
    RootGuard guard = new RootGuard(root);
    assertEquals(root.resolve("cache/files/109/876/original/a.png"), guard.existing("cache/files/109/876/original/a.png"));
    assertEquals(root.resolve("cache/files/109/877/original/b.png"), guard.existing("cache/files/109/877/original/b.png"));
    assertEquals(root.resolve("top.png"), guard.existing("top.png"));
  }

  @Test
  void refusesASymlinkedDirectoryBesideOnesAlreadyVerified() throws IOException {
    RootGuard guard = new RootGuard(root);
    guard.existing("cache/files/109/876/original/a.png");
    // Shares cache/files/109 with the verified path; only the link itself differs.
    Files.createSymbolicLink(root.resolve("cache/files/109/878"), outside);
    assertThrows(MediaException.class, () -> guard.existing("cache/files/109/878/secret"));
    assertThrows(MediaException.class, () -> guard.existing("cache/files/109/878/deep/secret"));
  }

  @Test
  void refusesASymlinkHighUpAfterADeepPathWasVerified() throws IOException {
    RootGuard guard = new RootGuard(root);
    guard.existing("cache/files/109/876/original/a.png");
    Files.createSymbolicLink(root.resolve("linked"), outside.getParent());
    assertThrows(MediaException.class, () -> guard.existing("linked/deep/secret"));
    // The refusal forgets what was verified: the next path is checked from the root again.
    assertEquals(root.resolve("cache/files/109/877/original/b.png"), guard.existing("cache/files/109/877/original/b.png"));
  }

  @Test
  void refusesAParentThatIsAFileOrMissing() throws IOException {
    RootGuard guard = new RootGuard(root);
    guard.existing("cache/files/110/x");
    assertThrows(MediaException.class, () -> guard.existing("cache/files/plain/x"));
    assertThrows(MediaException.class, () -> guard.existing("cache/files/111/x"));
  }

  @Test
  void refusesAPathThatLeavesTheRootLexically() throws IOException {
    RootGuard guard = new RootGuard(root);
    assertThrows(MediaException.class, () -> guard.existing("../outside/deep/x"));
    assertThrows(MediaException.class, () -> guard.existing("/etc/passwd"));
  }
}
