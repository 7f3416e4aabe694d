package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The planner and the whole target side, against a real tree through an in-process source. */
class MediaPullerTest {
  @TempDir Path dir;

  private static TargetPolicy policy(OptionalInt files, OptionalInt dirs) throws IOException {
    var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    return new TargetPolicy(lookup.lookupPrincipalByName("root"), lookup.lookupPrincipalByGroupName("root"), files, dirs, 1024 * 1024);
  }

  private PullSummary pull(Path source, Path target, PullOptions options, OptionalInt files, OptionalInt dirs) throws IOException {
    List<PullProgress> progress = new ArrayList<>();
    PullSummary summary = new MediaPuller(target, policy(files, dirs), root -> {}, Clock.systemUTC())
        .pull(new LocalMediaSource(source), options, progress::add);
    assertFalse(progress.isEmpty());
    return summary;
  }

  @Test
  void copiesExactlyThenSendsNothingTheSecondTime() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    List<String> files = MediaTrees.make(source, 60, 1);
    PullSummary first = pull(source, target, new PullOptions(false, false, false), OptionalInt.of(0640), OptionalInt.of(0750));
    assertEquals(files.size() + 1, first.filesSent(), "every file and the symlink");
    assertEquals(0, first.filesSkipped());
    MediaTrees.assertSameContent(source, target, false);
    assertEquals("rw-r-----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve(files.get(0)))));
    assertEquals("rwxr-x---", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("accounts"))));

    PullSummary second = pull(source, target, new PullOptions(false, false, false), OptionalInt.of(0640), OptionalInt.of(0750));
    assertEquals(0, second.filesSent());
    assertEquals(0, second.bytesSent());
    assertEquals(files.size() + 1, second.filesSkipped());
  }

  @Test
  void aScanThatWaitsForTheTransferStillFinishesEveryDirectory() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    List<String> files = MediaTrees.make(source, 80, 11);
    Files.createDirectories(target);
    Files.writeString(Files.createDirectories(target.resolve("gone/deeper")).resolve("old.txt"), "only here");
    // At most two requests in flight: the scan waits for nearly every file, and directories are
    // finished while others are still being filled.
    PullSummary summary = new MediaPuller(target, policy(OptionalInt.of(0640), OptionalInt.of(0750)), root -> {}, Clock.systemUTC(), 2)
        .pull(new LocalMediaSource(source), new PullOptions(false, false, true), p -> {});
    assertEquals(files.size() + 1, summary.filesSent());
    assertEquals(3, summary.filesDeleted(), "gone, gone/deeper, gone/deeper/old.txt");
    MediaTrees.assertSameContent(source, target, false);
    try (Stream<Path> all = Files.walk(target)) {
      for (Path p : all.filter(Files::isDirectory).filter(p -> !p.equals(target)).toList()) {
        assertEquals("rwxr-x---", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
      }
    }
  }

  @Test
  void refusesAManifestOutOfWalkOrderBeforeWritingWhatFollows() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    MediaTrees.make(source, 6, 12);
    Files.createDirectories(target);
    Files.writeString(target.resolve("kept.txt"), "only here");
    List<MediaEntry> entries = new ArrayList<>();
    ManifestBuilder.walk(source, entries::add);
    MediaEntry last = entries.get(entries.size() - 1);
    MediaSource shuffled = new MediaSource() {
      private final LocalMediaSource real = new LocalMediaSource(source);

      @Override
      public void manifest(ManifestBuilder.Sink sink) throws IOException {
        sink.accept(last); // the last entry first: out of order
        for (MediaEntry e : entries) {
          sink.accept(e);
        }
      }

      @Override
      public java.io.InputStream read(RequestFeed requests, java.util.function.Consumer<String> onMissing) throws IOException {
        return real.read(requests, onMissing);
      }
    };
    MediaException e = org.junit.jupiter.api.Assertions.assertThrows(MediaException.class,
        () -> new MediaPuller(target, policy(OptionalInt.empty(), OptionalInt.empty()), root -> {}, Clock.systemUTC())
            .pull(shuffled, new PullOptions(false, false, true), p -> {}));
    assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("out of order"), e.getMessage());
    assertTrue(Files.exists(target.resolve("kept.txt")), "--delete acts only on a manifest in order");
  }

  @Test
  void aReSyncStillFixesDirectoriesThatChangedOnEitherSide() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    List<String> files = MediaTrees.make(source, 30, 7);
    pull(source, target, new PullOptions(false, false, false), OptionalInt.of(0640), OptionalInt.of(0750));
    // Source: a new file in an existing directory (whose mtime is then set back, as a copy tool
    // would). Target: another directory's mode and mtime changed behind ferry's back.
    Path sourceDir = source.resolve(files.get(3)).getParent();
    var sourceDirTime = Files.getLastModifiedTime(sourceDir);
    Files.write(sourceDir.resolve("added.bin"), new byte[] {1, 2, 3});
    Files.setLastModifiedTime(sourceDir, sourceDirTime);
    Path drifted = target.resolve(files.get(10)).getParent();
    Files.setPosixFilePermissions(drifted, ManifestBuilder.permissions(0700));
    Files.setLastModifiedTime(drifted, java.nio.file.attribute.FileTime.fromMillis(0));

    PullSummary second = pull(source, target, new PullOptions(false, false, false), OptionalInt.of(0640), OptionalInt.of(0750));
    assertEquals(1, second.filesSent());
    // Every directory's mtime matches the source again: the one written to, and the drifted one.
    MediaTrees.assertSameContent(source, target, false);
    assertEquals("rwxr-x---", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(drifted)));
  }

  @Test
  void keepsSourceModesWhenTheLayoutSetsNone() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    List<String> files = MediaTrees.make(source, 10, 2);
    pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    for (String f : files) {
      assertEquals(Files.getPosixFilePermissions(source.resolve(f)), Files.getPosixFilePermissions(target.resolve(f)), f);
    }
  }

  @Test
  void dryRunChangesNothing() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    Files.createDirectories(target);
    List<String> files = MediaTrees.make(source, 12, 3);
    PullSummary summary = pull(source, target, new PullOptions(true, false, true), OptionalInt.empty(), OptionalInt.empty());
    assertTrue(summary.dryRun());
    assertEquals(files.size() + 1, summary.filesSent());
    try (Stream<Path> s = Files.list(target)) {
      assertEquals(0, s.count());
    }
    // Into a root that does not exist yet, --delete included: counted, and still nothing made.
    Path missing = dir.resolve("not-yet");
    PullSummary planned = pull(source, missing, new PullOptions(true, false, true), OptionalInt.empty(), OptionalInt.empty());
    assertEquals(files.size() + 1, planned.filesSent());
    assertFalse(Files.exists(missing, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void deletesOnlyWhenAskedAndNeverTheExcludedCache() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    MediaTrees.make(source, 12, 4);
    pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    Files.writeString(target.resolve("accounts/extra.txt"), "only here");
    Files.createDirectories(target.resolve("old/dir"));
    Files.writeString(target.resolve("old/dir/x"), "only here");
    Files.writeString(target.resolve("cache/kept-because-excluded"), "only here");

    PullSummary without = pull(source, target, new PullOptions(false, true, false), OptionalInt.empty(), OptionalInt.empty());
    assertEquals(0, without.filesDeleted());
    assertTrue(Files.exists(target.resolve("accounts/extra.txt")));

    PullSummary with = pull(source, target, new PullOptions(false, true, true), OptionalInt.empty(), OptionalInt.empty());
    assertEquals(4, with.filesDeleted(), "extra.txt, old, old/dir, old/dir/x");
    assertFalse(Files.exists(target.resolve("accounts/extra.txt")));
    assertFalse(Files.exists(target.resolve("old")));
    assertTrue(Files.exists(target.resolve("cache/kept-because-excluded")), "an excluded cache/ is never touched");
    MediaTrees.assertSameContent(source, target, true);
  }

  @Test
  void aMediaRootSymlinkedByAnyoneButRootIsRefusedAndNothingWritten() throws IOException {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give the link another owner");
    Path source = dir.resolve("src");
    MediaTrees.make(source, 4, 9);
    Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
    Files.writeString(elsewhere.resolve("not-media"), "kept");
    Path target = Files.createSymbolicLink(dir.resolve("dst"), elsewhere);
    var nobody = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.getFileAttributeView(target, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setOwner(nobody);
    for (PullOptions options : List.of(new PullOptions(false, false, true), new PullOptions(true, false, true))) {
      MediaException e = assertThrows(MediaException.class, () -> new MediaPuller(target,
          policy(OptionalInt.empty(), OptionalInt.empty()), root -> {}, Clock.systemUTC())
          .pull(new LocalMediaSource(source), options, p -> {}));
      assertEquals(MediaException.Reason.FAILED_PRECONDITION, e.reason());
      assertTrue(e.getMessage().contains("a symlink (to " + elsewhere + ") that uid "), e.getMessage());
    }
    try (Stream<Path> left = Files.list(elsewhere)) {
      assertEquals(List.of(elsewhere.resolve("not-media")), left.toList());
    }

    // The same link owned by root is an admin's (media on a bigger disk): followed.
    Files.getFileAttributeView(target, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        .setOwner(FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("root"));
    pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    MediaTrees.assertSameContent(source, elsewhere, false);
  }

  @Test
  // In a thread of its own, so that an open stuck on the fifo fails the test instead of hanging it.
  @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void deleteDoesNotWaitOnAFifoWhereTheSourceHasADirectory() throws Exception {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    MediaTrees.make(source, 6, 8);
    Files.writeString(Files.createDirectories(source.resolve("d")).resolve("f.png"), "x");
    Files.createDirectories(target);
    assertEquals(0, new ProcessBuilder("mkfifo", target.resolve("d").toString()).inheritIO().start().waitFor());
    // A dry run: a real one would stop at writing d/f.png under the fifo, before deleting.
    PullSummary summary = pull(source, target, new PullOptions(true, false, true), OptionalInt.empty(), OptionalInt.empty());
    assertTrue(summary.refusals().stream().anyMatch(r -> r.startsWith("d: a directory on the source but not on the target")),
        summary.refusals().toString());
    assertTrue(Files.exists(target.resolve("d"), LinkOption.NOFOLLOW_LINKS), "the fifo is left alone");
  }

  @Test
  void excludeCacheLeavesCacheOut() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    MediaTrees.make(source, 24, 5);
    PullSummary summary = pull(source, target, new PullOptions(false, true, false), OptionalInt.empty(), OptionalInt.empty());
    assertFalse(Files.exists(target.resolve("cache")));
    assertTrue(summary.filesSent() > 0);
    MediaTrees.assertSameContent(source, target, true);
  }

  @Test
  void refusesSymlinksThatLeaveTheRootAndReportsThem() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    MediaTrees.make(source, 3, 6);
    Files.createSymbolicLink(source.resolve("escape"), Path.of("../../etc"));
    Files.createSymbolicLink(source.resolve("absolute"), Path.of("/etc/passwd"));
    PullSummary summary = pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    assertEquals(2, summary.refusals().size(), summary.refusals().toString());
    assertFalse(Files.exists(target.resolve("escape"), LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(target.resolve("absolute"), LinkOption.NOFOLLOW_LINKS));
    assertTrue(Files.isSymbolicLink(target.resolve("site_uploads/latest")));
  }

  @Test
  void resumesAPartialFileSendingOnlyTheTail() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    Files.createDirectories(source.resolve("media_attachments"));
    byte[] data = new byte[8 * 1024 * 1024];
    new Random(7).nextBytes(data);
    Path big = source.resolve("media_attachments/video.mp4");
    Files.write(big, data);
    // Simulate a cut run: the first 6 MiB arrived under the hidden partial name.
    pull(source, target, new PullOptions(true, false, false), OptionalInt.empty(), OptionalInt.empty());
    Files.createDirectories(target.resolve("media_attachments"));
    List<MediaEntry> entries = new ArrayList<>();
    ManifestBuilder.walk(source, entries::add);
    MediaEntry entry = entries.stream().filter(MediaEntry::isFile).findFirst().orElseThrow();
    Path partial = PartialFiles.partialFor(target.resolve(entry.path()), entry);
    Files.write(partial, java.util.Arrays.copyOf(data, 6 * 1024 * 1024));

    PullSummary summary = pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    assertEquals(1, summary.filesResumed());
    assertEquals(5L * 1024 * 1024, summary.bytesResumed(), "kept 6 MiB minus the 1 MiB tail");
    assertEquals(3L * 1024 * 1024, summary.bytesSent(), "sent the rest and the tail, nothing more");
    MediaTrees.assertSameContent(source, target, false);
    assertFalse(Files.exists(partial));
  }

  @Test
  void aCorruptPartialFileIsCaughtByTheHashAndNeverRenamed() throws IOException {
    Path source = dir.resolve("src");
    Path target = dir.resolve("dst");
    Files.createDirectories(source.resolve("m"));
    byte[] data = new byte[4 * 1024 * 1024];
    new Random(8).nextBytes(data);
    Files.write(source.resolve("m/v.mp4"), data);
    Files.createDirectories(target.resolve("m"));
    List<MediaEntry> entries = new ArrayList<>();
    ManifestBuilder.walk(source, entries::add);
    MediaEntry entry = entries.stream().filter(MediaEntry::isFile).findFirst().orElseThrow();
    byte[] wrong = java.util.Arrays.copyOf(data, 3 * 1024 * 1024);
    wrong[10] ^= 1;
    Path partial = PartialFiles.partialFor(target.resolve(entry.path()), entry);
    Files.write(partial, wrong);
    MediaException e = org.junit.jupiter.api.Assertions.assertThrows(MediaException.class,
        () -> pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty()));
    assertEquals(MediaException.Reason.DATA_LOSS, e.reason());
    assertTrue(e.getMessage().contains("hash mismatch"), e.getMessage());
    assertFalse(Files.exists(target.resolve("m/v.mp4")));
    assertFalse(Files.exists(partial), "a partial copy that failed its hash is dropped, so the next run starts clean");
    pull(source, target, new PullOptions(false, false, false), OptionalInt.empty(), OptionalInt.empty());
    MediaTrees.assertSameContent(source, target, false);
  }
}
