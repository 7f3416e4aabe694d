package dev.ferry.controller.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.MediaClient;
import dev.ferry.controller.client.MediaSyncOptions;
import dev.ferry.proto.v1.CopyRedisDumpRequest;
import dev.ferry.proto.v1.CopySecretsRequest;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.HostStatus;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.ReadFilesRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * With fs.protected_hardlinks off on either host, two real agents over mutual TLS refuse to move
 * media, secrets or the Redis dump, say why and how to fix it, and change nothing; the status
 * shows it. Each agent reads a stand-in for /proc/sys/fs/protected_hardlinks (a test must not
 * change the kernel's), and reads it at every call, so turning it back on lets the same copy go
 * through: the refusal came from the setting, not from the lab.
 */
@Timeout(180)
class HardlinkProtectionTest {
  @TempDir Path dir;
  HostileLab lab;

  @BeforeEach
  void start() throws Exception {
    lab = HostileLab.start(dir);
  }

  @AfterEach
  void stop() throws Exception {
    lab.close();
  }

  @Test
  void aTargetWithoutItReceivesNothing() throws Exception {
    assertEveryTransferRefused(lab.targetHardlinks, "target-host", "receive media", "write secrets", "write the Redis dump");

    HostStatus status = status("tgt");
    assertEquals("0", status.getProtectedHardlinks());
    assertTrue(status.getWarningsList().stream().anyMatch(w -> w.contains("fs.protected_hardlinks is 0 on target-host")),
        status.getWarningsList().toString());

    Files.writeString(lab.targetHardlinks, "1\n");
    assertEquals(null, mediaSync(), "the same sync goes through once the protection is on");
    assertEquals(null, copySecrets(), "and the same secrets copy");
    assertEquals("1", status("tgt").getProtectedHardlinks());
  }

  @Test
  void aSourceWithoutItSendsNothing() throws Exception {
    assertEveryTransferRefused(lab.sourceHardlinks, "source-host", "send media", "send secrets", "send the Redis dump");
    assertEquals("0", status("src").getProtectedHardlinks());

    Files.writeString(lab.sourceHardlinks, "1\n");
    assertEquals(null, mediaSync(), "the same sync goes through once the protection is on");
  }

  @Test
  void aPeerAskingTheSourceForFilesDirectlyGetsNone() throws Exception {
    // A sync never gets this far (GetManifest refuses first); a peer may call ReadFiles itself.
    ReadFilesRequest ask = ReadFilesRequest.newBuilder()
        .addFiles(BadInputCorpusTest.file(BadInputCorpusTest.firstFile(lab), 0)).setLast(true).build();
    Files.writeString(lab.sourceHardlinks, "0\n");
    BadInputCorpusTest.ReadResult refused =
        BadInputCorpusTest.readFilesRaw(lab, lab.peerSession(Set.of(Operation.OPERATION_READ_MEDIA)), List.of(ask));
    assertEquals(Status.Code.FAILED_PRECONDITION, refused.status().getCode(), refused.status().toString());
    assertTrue(refused.status().getDescription().contains("ferry will not send media"), refused.status().toString());
    assertEquals(0, refused.bytes().length, "no file data was sent");

    Files.writeString(lab.sourceHardlinks, "1\n");
    BadInputCorpusTest.ReadResult sent =
        BadInputCorpusTest.readFilesRaw(lab, lab.peerSession(Set.of(Operation.OPERATION_READ_MEDIA)), List.of(ask));
    assertEquals(Status.Code.OK, sent.status().getCode(), sent.status().toString());
    assertTrue(sent.bytes().length > 0, "the same request is served once the protection is on");
  }

  /**
   * Turns the protection off in {@code sysctl} (one side's stand-in) and checks that the media
   * sync, the secrets copy and the Redis copy are each refused for what that side would do, and
   * that nothing changed on either host.
   */
  private void assertEveryTransferRefused(Path sysctl, String host, String media, String secrets, String redis)
      throws Exception {
    Files.writeString(sysctl, "0\n");
    HostileLab.Snapshot before = lab.snapshot();
    assertRefused(mediaSync(), host, media);
    assertRefused(copySecrets(), host, secrets);
    assertRefused(copyRedisDump(), host, redis);
    assertEquals("", before.differences(lab.snapshot()), "nothing changed");
  }

  /** The failure's code and text, or null if the call succeeded. */
  private record Failure(String code, String message) {}

  private static void assertRefused(Failure failure, String host, String what) {
    assertTrue(failure != null, "refused: " + what);
    assertEquals("FAILED_PRECONDITION", failure.code(), failure.message());
    assertTrue(failure.message().contains("fs.protected_hardlinks is 0 on " + host), failure.message());
    assertTrue(failure.message().contains("ferry will not " + what), failure.message());
    assertTrue(failure.message().contains("sysctl -w fs.protected_hardlinks=1"), failure.message());
  }

  private Failure mediaSync() throws Exception {
    try (AgentClient target = lab.controller.client("tgt")) {
      new MediaClient().sync(target, lab.targetSource(Operation.OPERATION_READ_MEDIA), MediaSyncOptions.DEFAULT, p -> {});
      return null;
    } catch (AgentException e) {
      return new Failure(e.code(), e.getMessage());
    }
  }

  private Failure copySecrets() {
    return unary(() -> host().copySecrets(
        CopySecretsRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_SECRETS)).build()));
  }

  private Failure copyRedisDump() {
    return unary(() -> host().copyRedisDump(
        CopyRedisDumpRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_REDIS)).build()));
  }

  private HostServiceGrpc.HostServiceBlockingStub host() {
    return HostServiceGrpc.newBlockingStub(lab.controller(lab.target)).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private HostStatus status(String name) throws Exception {
    try (AgentClient agent = lab.controller.client(name)) {
      return agent.status();
    }
  }

  private static Failure unary(Runnable call) {
    try {
      call.run();
      return null;
    } catch (StatusRuntimeException e) {
      return new Failure(e.getStatus().getCode().name(), String.valueOf(e.getStatus().getDescription()));
    }
  }
}
