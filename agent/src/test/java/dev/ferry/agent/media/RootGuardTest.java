package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The target creates parent directories only inside its media root, never through a symlink. */
class RootGuardTest {
  @TempDir Path temp;
  private Path root;
  private Path outside;
  private final List<Path> created = new ArrayList<>();

  @BeforeEach
  void tree() throws IOException {
    root = Files.createDirectories(temp.resolve("root")).toRealPath();
    outside = Files.createDirectories(temp.resolve("outside/deep")).toRealPath();
    Files.createDirectories(root.resolve("cache/files/109/876/original"));
    Files.writeString(root.resolve("cache/files/plain"), "not a directory");
  }

  private void create(Path dir) throws IOException {
    created.add(dir);
    Files.createDirectory(dir);
  }

  @Test
  void createsMissingParentsOneByOneAndOnlyThose() throws IOException {
    RootGuard guard = new RootGuard(root);
    assertEquals(root.resolve("cache/files/109/876/original/a.png"), guard.withParents("cache/files/109/876/original/a.png", this::create));
    assertEquals(List.of(), created);
    assertEquals(root.resolve("cache/files/110/001/b.png"), guard.withParents("cache/files/110/001/b.png", this::create));
    assertEquals(List.of(root.resolve("cache/files/110"), root.resolve("cache/files/110/001")), created);
    assertEquals(root.resolve("top.png"), guard.withParents("top.png", this::create));
    assertTrue(guard.directory("cache/files/111", false, this::create));
    assertFalse(guard.directory("cache/files/111", false, this::create));
  }

  @Test
  void refusesASymlinkedDirectoryBesideOnesAlreadyVerified() throws IOException {
    RootGuard guard = new RootGuard(root);
    guard.withParents("cache/files/109/876/original/a.png", this::create);
    // Shares cache/files/109 with the verified path; only the link itself differs.
    Files.createSymbolicLink(root.resolve("cache/files/109/878"), outside);
    assertThrows(MediaException.class, () -> guard.withParents("cache/files/109/878/secret", this::create));
    assertThrows(MediaException.class, () -> guard.withParents("cache/files/109/878/new/secret", this::create));
    assertEquals(List.of(), created);
    assertFalse(Files.exists(outside.resolve("new")));
  }

  @Test
  void refusesAParentThatIsAFile() throws IOException {
    RootGuard guard = new RootGuard(root);
    assertThrows(MediaException.class, () -> guard.withParents("cache/files/plain/x", this::create));
    assertThrows(MediaException.class, () -> guard.directory("cache/files/plain/sub", false, this::create));
    assertEquals(List.of(), created);
  }

  @Test
  void refusesAPathThatLeavesTheRootLexically() throws IOException {
    RootGuard guard = new RootGuard(root);
    assertThrows(MediaException.class, () -> guard.withParents("../outside/deep/x", this::create));
    assertThrows(MediaException.class, () -> guard.withParents("/etc/passwd", this::create));
    assertThrows(MediaException.class, () -> guard.lexical("a/../../x"));
    assertEquals(root.resolve("a").resolve("b").resolve("c.png"), guard.lexical("a/b/c.png"));
    assertEquals(List.of(), created);
  }
}
