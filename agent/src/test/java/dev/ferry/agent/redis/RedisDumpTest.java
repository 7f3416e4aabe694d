package dev.ferry.agent.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.layout.Layout;
import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.layout.LayoutResolver;
import dev.ferry.agent.process.ProcessRunner;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Receiving a Redis dump: what a killed receive leaves behind, a second receive at once, and a full disk. */
class RedisDumpTest {
  @TempDir Path dir;

  /** redis-server --version, without a Redis on this machine. */
  private static final class RedisVersion extends ProcessRunner {
    @Override
    public Result check(List<String> argv, Map<String, String> env, Duration timeout) {
      return new Result(0, "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1\n", "");
    }
  }

  private RedisDump dumpIn(Path redisDir) {
    Layout ubuntu = LayoutResolver.defaults(LayoutKind.UBUNTU);
    String me = System.getProperty("user.name");
    Layout layout = new Layout(ubuntu.kind(), ubuntu.mastodonRoot(), ubuntu.mediaRoot(), ubuntu.envFile(), ubuntu.secretsDir(),
        ubuntu.user(), ubuntu.group(), ubuntu.database(), ubuntu.units(), ubuntu.redisUnit(), redisDir.resolve("dump.rdb"), me,
        ubuntu.tootctl(), ubuntu.webUrl());
    return new RedisDump(layout, new RedisVersion(), () -> Optional.of(false),
        Clock.fixed(Instant.parse("2026-12-01T12:00:00Z"), ZoneOffset.UTC));
  }

  private static byte[] random(int size) {
    byte[] data = new byte[size];
    new Random(size).nextBytes(data);
    return data;
  }

  private static String sha256(byte[] data) {
    return HexFormat.of().formatHex(RedisDump.sha256().digest(data));
  }

  @Test
  void aTempFileLeftByAKilledReceiveIsRemovedAndTheOldDumpKept() throws Exception {
    Path redisDir = Files.createDirectories(dir.resolve("redis"));
    byte[] old = random(1000);
    Files.write(redisDir.resolve("dump.rdb"), old);
    Path stale = Files.write(redisDir.resolve(".dump.123456.ferry-tmp"), random(500));
    Path unrelated = Files.write(redisDir.resolve("appendonly.aof"), random(10));
    byte[] incoming = random(300_000);

    RedisDump.Received received = dumpIn(redisDir).receive(new ByteArrayInputStream(incoming), "7.0.15", () -> sha256(incoming));

    assertFalse(Files.exists(stale), "the stale temp file is gone");
    assertTrue(Files.exists(unrelated), "files ferry did not write stay");
    assertArrayEquals(incoming, Files.readAllBytes(redisDir.resolve("dump.rdb")));
    assertArrayEquals(old, Files.readAllBytes(received.backup().orElseThrow()));
    try (Stream<Path> files = Files.list(redisDir)) {
      assertEquals(List.of("appendonly.aof", "dump.rdb", "dump.rdb.ferry-backup-20261201T120000Z"),
          files.map(f -> f.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  @Timeout(30)
  void aSecondReceiveWhileOneIsUnderWayIsRefusedAndTouchesNothing() throws Exception {
    Path redisDir = Files.createDirectories(dir.resolve("redis"));
    byte[] incoming = random(300_000);
    RedisDump dump = dumpIn(redisDir);
    CountDownLatch reading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    InputStream slow = new FilterInputStream(new ByteArrayInputStream(incoming)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        reading.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new InterruptedIOException();
        }
        return super.read(b, off, len);
      }
    };
    CompletableFuture<RedisDump.Received> first = CompletableFuture.supplyAsync(() -> {
      try {
        return dump.receive(slow, "7.0.15", () -> sha256(incoming));
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });
    reading.await();
    byte[] other = random(1000);
    IllegalStateException refused = assertThrows(IllegalStateException.class,
        () -> dump.receive(new ByteArrayInputStream(other), "7.0.15", () -> sha256(other)));
    assertTrue(refused.getMessage().contains("already being received"), refused.getMessage());
    release.countDown();
    first.get();
    assertArrayEquals(incoming, Files.readAllBytes(redisDir.resolve("dump.rdb")));
    try (Stream<Path> files = Files.list(redisDir)) {
      assertEquals(List.of("dump.rdb"), files.map(f -> f.getFileName().toString()).toList());
    }
  }

  @Test
  void aFullDiskSaysSoAndLeavesTheOldDumpAndNoTempFile() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting a small tmpfs needs root");
    Path redisDir = Files.createDirectories(dir.resolve("small"));
    run("mount", "-t", "tmpfs", "-o", "size=256k", "ferry-redis-test", redisDir.toString());
    try {
      byte[] old = random(1000);
      Files.write(redisDir.resolve("dump.rdb"), old);
      byte[] incoming = random(1 << 20);

      IOException e = assertThrows(IOException.class,
          () -> dumpIn(redisDir).receive(new ByteArrayInputStream(incoming), "7.0.15", () -> sha256(incoming)));

      assertTrue(e.getMessage().startsWith("the target disk is full (" + redisDir + ") while writing the Redis dump;"
          + " the old dump was left in place"), e.getMessage());
      assertArrayEquals(old, Files.readAllBytes(redisDir.resolve("dump.rdb")));
      try (Stream<Path> files = Files.list(redisDir)) {
        assertEquals(List.of("dump.rdb"), files.map(f -> f.getFileName().toString()).toList());
      }
    } finally {
      run("umount", redisDir.toString());
    }
  }

  private static void run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).inheritIO().start();
    assertEquals(0, p.waitFor(), String.join(" ", argv));
  }
}
