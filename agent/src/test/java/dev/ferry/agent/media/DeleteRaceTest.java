package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * --delete while someone who can write in the target's tree (the Mastodon user) keeps swapping a
 * directory that is being deleted for a symlink to a directory of root's: nothing outside the
 * media root may be deleted, however the swaps fall. The delete by path that ferry had before
 * (lstat, then list and unlink by name) lost files of the linked directory in six runs of seven
 * on a 2-core VM, by round 13 of 40 at the latest.
 */
class DeleteRaceTest {
  private static final int ROUNDS = 40;
  private static final int FILES = 300;

  @TempDir Path dir;

  @Test
  @Timeout(120)
  void aDirectorySwappedForASymlinkDuringDeleteNeverLeadsOutsideTheRoot() throws Exception {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    Path precious = Files.createDirectory(dir.resolve("precious"));
    MediaTrees.make(source, 8, 3);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < FILES; i++) {
      names.add(String.format("f%03d", i));
      Files.writeString(precious.resolve(names.get(i)), "root's file " + i);
    }
    MediaPuller puller = new MediaPuller(target, policyOfTheTestUser(), root -> {}, Clock.systemUTC());
    puller.pull(new LocalMediaSource(source), new PullOptions(false, false, false), p -> {});

    Path gone = target.resolve("gone");
    Path aside = target.resolve("gone.aside");
    AtomicLong swaps = new AtomicLong();
    for (int round = 0; round < ROUNDS; round++) {
      Files.createDirectory(gone);
      for (String name : names) {
        Files.writeString(gone.resolve(name), "only on the target");
      }
      AtomicBoolean stop = new AtomicBoolean();
      Thread swapper = new Thread(() -> {
        while (!stop.get()) {
          try {
            if (!Files.isDirectory(gone, LinkOption.NOFOLLOW_LINKS)) {
              return; // deleted (or a step refused): nothing left to swap this round
            }
            Files.move(gone, aside, StandardCopyOption.ATOMIC_MOVE);
            Files.createSymbolicLink(gone, precious);
            swaps.incrementAndGet();
            for (int spin = 0; spin < 2000; spin++) {
              Thread.onSpinWait();
            }
            Files.deleteIfExists(gone);
            Files.move(aside, gone, StandardCopyOption.ATOMIC_MOVE);
          } catch (IOException e) {
            // The puller got there first (deleted the link or the directory): try again.
          }
        }
      }, "swapper");
      swapper.start();
      try {
        puller.pull(new LocalMediaSource(source), new PullOptions(false, false, true), p -> {});
      } catch (IOException e) {
        // A step that met the symlink may fail the sync; that is allowed, leaving the root is not.
      } finally {
        stop.set(true);
        swapper.join();
      }
      if (Files.isSymbolicLink(gone)) {
        Files.delete(gone);
      }
      for (Path left : List.of(gone, aside)) {
        if (Files.isDirectory(left, LinkOption.NOFOLLOW_LINKS)) {
          try (var files = Files.list(left)) {
            for (Path f : files.toList()) {
              Files.delete(f);
            }
          }
          Files.delete(left);
        }
      }
      for (int i = 0; i < FILES; i++) {
        Path file = precious.resolve(names.get(i));
        assertTrue(Files.exists(file), "round " + round + ": deleted outside the root: " + file);
        assertEquals("root's file " + i, Files.readString(file));
      }
    }
    assertTrue(swaps.get() >= ROUNDS, "the swapper must have raced the deletes: " + swaps.get() + " swaps");
  }

  private TargetPolicy policyOfTheTestUser() throws IOException {
    PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class);
    return new TargetPolicy(attributes.owner(), attributes.group(), OptionalInt.empty(), OptionalInt.empty(), 1 << 20);
  }
}
