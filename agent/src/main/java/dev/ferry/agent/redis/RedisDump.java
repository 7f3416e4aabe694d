package dev.ferry.agent.redis;

import dev.ferry.agent.disk.DiskFull;
import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.process.CommandFailedException;
import dev.ferry.agent.process.ProcessRunner;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Redis dump ({@code dump.rdb}) on this host: its Redis version, reading it out, and
 * receiving one in its place. Redis must be stopped while the file is read or replaced, or it
 * would write its own dump over it (research/domain.md 1.4).
 */
public final class RedisDump {
  private static final Logger logger = Logger.getLogger(RedisDump.class.getName());
  private static final Pattern VERSION = Pattern.compile("v=(\\d+(?:\\.\\d+)*)");
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  /** Whether the layout's Redis unit runs; empty when it cannot be told (no systemd). */
  public interface RedisState {
    Optional<Boolean> running() throws Exception;
  }

  /** What a receive did. */
  public record Received(Path file, long bytes, Optional<Path> backup, String sourceVersion, String targetVersion) {}

  private final Layout layout;
  private final ProcessRunner runner;
  private final RedisState state;
  private final Clock clock;
  private final AtomicBoolean receiving = new AtomicBoolean();

  public RedisDump(Layout layout, ProcessRunner runner, RedisState state, Clock clock) {
    this.layout = layout;
    this.runner = runner;
    this.state = state;
    this.clock = clock;
  }

  public Path file() {
    return layout.redisDump();
  }

  /** {@code redis-server --version}'s {@code v=}, like "7.0.15". */
  public String version() throws CommandFailedException {
    ProcessRunner.Result result = runner.check(List.of("redis-server", "--version"), java.util.Map.of(), Duration.ofSeconds(20));
    Matcher m = VERSION.matcher(result.stdout());
    if (!m.find()) {
      throw new CommandFailedException("cannot read the Redis version from redis-server --version");
    }
    return m.group(1);
  }

  /** Opens the dump for reading; refuses while Redis runs. */
  public InputStream open() throws IOException {
    requireStopped();
    if (!Files.isRegularFile(file())) {
      throw new java.nio.file.NoSuchFileException(file().toString(), null, "no Redis dump here");
    }
    return Files.newInputStream(file());
  }

  /**
   * Writes {@code data} as this host's dump: checks that this Redis is not older than the
   * source's and that it is stopped, writes a temp file, verifies the SHA-256, copies any old dump
   * aside, then renames into place (owner the Redis user, 0600). The expected hash is asked for
   * after the data ended, since it travels last.
   */
  public Received receive(InputStream data, String sourceVersion, java.util.function.Supplier<String> expectedSha256) throws IOException, CommandFailedException {
    // One at a time: a second receive would take the first one's temp file for a stale one and
    // delete it under it, and the two renames would race for the dump.
    if (!receiving.compareAndSet(false, true)) {
      throw new IllegalStateException("a Redis dump is already being received on this host; let it finish, then run again");
    }
    try {
      return receiveAlone(data, sourceVersion, expectedSha256);
    } finally {
      receiving.set(false);
    }
  }

  private Received receiveAlone(InputStream data, String sourceVersion, java.util.function.Supplier<String> expectedSha256)
      throws IOException, CommandFailedException {
    String targetVersion = version();
    if (compare(targetVersion, sourceVersion) < 0) {
      throw new IllegalStateException(
          "this host's Redis " + targetVersion + " is older than the source's " + sourceVersion
              + " and may not read its dump; upgrade Redis here first");
    }
    requireStopped();
    Path target = file();
    Files.createDirectories(target.getParent());
    removeStaleTemps(target.getParent());
    Path temp = Files.createTempFile(target.getParent(), ".dump.", ".ferry-tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      MessageDigest sha = sha256();
      long bytes = 0;
      // The directory is Redis's: never follow a symlink swapped in for the temp file.
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
        byte[] buffer = new byte[256 * 1024];
        int n;
        while ((n = data.read(buffer)) >= 0) {
          sha.update(buffer, 0, n);
          ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
          while (chunk.hasRemaining()) {
            out.write(chunk);
          }
          bytes += n;
        }
        out.force(true);
      } catch (IOException e) {
        throw DiskFull.explained(e, target.getParent(), "the Redis dump", "the old dump was left in place");
      }
      String actual = HexFormat.of().formatHex(sha.digest());
      if (!actual.equals(expectedSha256.get())) {
        throw new IOException("the Redis dump arrived damaged (SHA-256 mismatch); the old dump was left in place");
      }
      chown(temp);
      Optional<Path> backup = Optional.empty();
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        Path aside = target.resolveSibling(target.getFileName() + ".ferry-backup-" + STAMP.format(clock.instant()));
        for (int i = 1; Files.exists(aside, LinkOption.NOFOLLOW_LINKS); i++) {
          aside = target.resolveSibling(target.getFileName() + ".ferry-backup-" + STAMP.format(clock.instant()) + "-" + i);
        }
        // A hard link keeps the old dump under a new name at no cost, with its owner and mode.
        Files.createLink(aside, target);
        backup = Optional.of(aside);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      logger.info("Redis dump written to " + target + " (" + bytes + " bytes)" + backup.map(b -> ", old one kept as " + b).orElse(""));
      return new Received(target, bytes, backup, sourceVersion, targetVersion);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /**
   * Temp files of an earlier receive that died before its {@code finally} (a killed agent). Only
   * ferry writes names of this shape, and Redis is stopped, so nobody else holds them.
   */
  private static void removeStaleTemps(Path dir) throws IOException {
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, ".dump.*.ferry-tmp")) {
      for (Path file : stale) {
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
          Files.delete(file);
          logger.info("removed " + file + ", left by an earlier receive that did not finish");
        }
      }
    }
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void requireStopped() {
    Optional<Boolean> running;
    try {
      running = state.running();
    } catch (Exception e) {
      throw new IllegalStateException("cannot tell whether " + layout.redisUnit() + " runs: " + e.getMessage());
    }
    if (running.orElse(false)) {
      throw new IllegalStateException(
          layout.redisUnit() + " is running; stop it first (ferry service NAME stop " + layout.redisUnit() + ")");
    }
    if (running.isEmpty()) {
      logger.warning("systemd is not running; cannot check that " + layout.redisUnit() + " is stopped");
    }
  }

  private void chown(Path path) throws IOException {
    UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
    PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.setOwner(lookup.lookupPrincipalByName(layout.redisUser()));
    view.setGroup(lookup.lookupPrincipalByGroupName(layout.redisUser()));
  }

  /** Compares dotted versions numerically. */
  public static int compare(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int p = i < x.length ? Integer.parseInt(x[i]) : 0;
      int q = i < y.length ? Integer.parseInt(y[i]) : 0;
      if (p != q) {
        return Integer.compare(p, q);
      }
    }
    return 0;
  }
}
