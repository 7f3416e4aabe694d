package dev.ferry.controller.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.ferry.agent.grpc.PeerConnector;
import dev.ferry.agent.media.MediaTrees;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.ticket.Tickets;
import dev.ferry.controller.client.AgentClient;
import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.MediaClient;
import dev.ferry.controller.client.MediaSyncOptions;
import dev.ferry.controller.home.PairedHost;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetManifestResponse;
import dev.ferry.proto.v1.ManifestEntry;
import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.ReadFilesRequest;
import dev.ferry.proto.v1.ReadFilesResponse;
import dev.ferry.proto.v1.Ticket;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may read the source's media, and what: bad tickets are refused before anything is read, and
 * a peer holding a good ticket still cannot read outside the media root.
 */
@Timeout(120)
class MediaAuthorizationTest {
  private static final byte[] SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;
  MediaSyncTest.MediaHosts hosts;
  Path outside;

  @BeforeAll
  static void mastodonUser() throws Exception {
    TestPostgres.ensureOsUser("mastodon");
  }

  @BeforeEach
  void start() throws Exception {
    hosts = MediaSyncTest.MediaHosts.start(dir);
    MediaTrees.make(hosts.sourceRoot(), 6, 21);
    outside = Files.createDirectories(dir.resolve("outside"));
    Files.write(outside.resolve("secret"), SECRET);
    Files.createSymbolicLink(hosts.sourceRoot().resolve("link"), outside);
  }

  @AfterEach
  void stop() {
    hosts.close();
  }

  private PairedHost host(String name) throws Exception {
    return hosts.controller().home().requireHost(name);
  }

  private PeerSource peerSource(Ticket ticket) throws Exception {
    PairedHost source = host("src");
    return PeerSource.newBuilder().setAddress(source.address()).setFingerprint(source.fingerprint()).setTicket(ticket).build();
  }

  private Ticket ticket(Identity signer, String holder, Set<Operation> operations, Clock clock) throws Exception {
    return Tickets.issue(signer, "test", host("src").fingerprint(), holder, operations, Tickets.DEFAULT_TTL, clock);
  }

  private Ticket goodTicket() throws Exception {
    return ticket(hosts.controller().identity(), host("tgt").fingerprint(), Set.of(Operation.OPERATION_READ_MEDIA), Clock.systemUTC());
  }

  private AgentException refusedSync(PeerSource source) throws Exception {
    try (AgentClient target = hosts.controller().client("tgt")) {
      return assertThrows(AgentException.class, () -> new MediaClient().sync(target, source, MediaSyncOptions.DEFAULT, p -> {}));
    }
  }

  private void assertTargetEmpty() throws Exception {
    if (!Files.exists(hosts.targetRoot())) {
      return;
    }
    try (Stream<Path> all = Files.walk(hosts.targetRoot())) {
      assertEquals(List.of(), all.filter(Files::isRegularFile).toList(), "nothing was copied");
    }
  }

  @Test
  void anExpiredTicketIsRefused() throws Exception {
    Clock past = Clock.fixed(Instant.now().minus(Duration.ofMinutes(30)), ZoneOffset.UTC);
    AgentException e = refusedSync(peerSource(ticket(hosts.controller().identity(), host("tgt").fingerprint(),
        Set.of(Operation.OPERATION_READ_MEDIA), past)));
    assertEquals("PERMISSION_DENIED", e.code(), e.getMessage());
    assertTargetEmpty();
  }

  @Test
  void aForgedTicketIsRefused() throws Exception {
    Ticket good = goodTicket();
    byte[] signature = good.getSignature().toByteArray();
    signature[signature.length / 2] ^= 0x01;
    AgentException flipped = refusedSync(peerSource(good.toBuilder().setSignature(ByteString.copyFrom(signature)).build()));
    assertEquals("PERMISSION_DENIED", flipped.code(), flipped.getMessage());

    Identity rogue = Identity.create(dir.resolve("rogue"), "rogue controller");
    AgentException unpaired = refusedSync(peerSource(ticket(rogue, host("tgt").fingerprint(), Set.of(Operation.OPERATION_READ_MEDIA), Clock.systemUTC())));
    assertEquals("PERMISSION_DENIED", unpaired.code(), unpaired.getMessage());
    assertTargetEmpty();
  }

  @Test
  void aReplayedTicketIsRefused() throws Exception {
    PeerSource once = peerSource(goodTicket());
    try (AgentClient target = hosts.controller().client("tgt")) {
      new MediaClient().sync(target, once, MediaSyncOptions.DEFAULT, p -> {});
    }
    Files.writeString(hosts.sourceRoot().resolve("accounts/new.txt"), "new");
    AgentException e = refusedSync(once);
    assertEquals("PERMISSION_DENIED", e.code(), e.getMessage());
    assertFalse(Files.exists(hosts.targetRoot().resolve("accounts/new.txt")));
  }

  @Test
  void aTicketForAnotherHolderIsRefused() throws Exception {
    Identity other = Identity.create(dir.resolve("other-agent"), "other agent");
    AgentException e = refusedSync(peerSource(ticket(hosts.controller().identity(), other.fingerprint(),
        Set.of(Operation.OPERATION_READ_MEDIA), Clock.systemUTC())));
    assertEquals("PERMISSION_DENIED", e.code(), e.getMessage());
    assertTargetEmpty();
  }

  @Test
  void aTicketForAnotherOperationIsRefused() throws Exception {
    AgentException e = refusedSync(peerSource(ticket(hosts.controller().identity(), host("tgt").fingerprint(),
        Set.of(Operation.OPERATION_DUMP_DATABASE), Clock.systemUTC())));
    assertEquals("PERMISSION_DENIED", e.code(), e.getMessage());
    assertTrue(e.getMessage().contains("READ_MEDIA"), e.getMessage());
    assertTargetEmpty();
  }

  /** What a ReadFiles call returned: the bytes, and how it ended. */
  record Read(byte[] bytes, Status status) {}

  private static Read readFiles(PeerConnector.PeerConnection connection, String path) throws Exception {
    CompletableFuture<Status> end = new CompletableFuture<>();
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    StreamObserver<ReadFilesRequest> requests = MediaServiceGrpc.newStub(connection.channel()).readFiles(new StreamObserver<>() {
      @Override
      public void onNext(ReadFilesResponse value) {
        bytes.writeBytes(value.getChunk().toByteArray());
      }

      @Override
      public void onError(Throwable t) {
        end.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        end.complete(Status.OK);
      }
    });
    requests.onNext(ReadFilesRequest.newBuilder().addFiles(dev.ferry.proto.v1.FileRequest.newBuilder().setPath(path)).setLast(true).build());
    requests.onCompleted();
    return new Read(bytes.toByteArray(), end.get(30, TimeUnit.SECONDS));
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  @Test
  void aPeerCannotReadOutsideTheMediaRoot() throws Exception {
    Identity peer = Identity.create(dir.resolve("peer"), "peer agent");
    PeerSource source = peerSource(ticket(hosts.controller().identity(), peer.fingerprint(), Set.of(Operation.OPERATION_READ_MEDIA), Clock.systemUTC()));
    try (PeerConnector.PeerConnection connection = new PeerConnector(peer).connect(source)) {
      String relativeToRoot = hosts.sourceRoot().relativize(outside.resolve("secret")).toString();
      for (String path : List.of(relativeToRoot, "accounts/../../../../outside/secret", outside.resolve("secret").toString(), "link/secret", "link")) {
        Read read = readFiles(connection, path);
        assertFalse(contains(read.bytes(), SECRET), path + " leaked the secret");
        if (!path.equals("link")) {
          assertEquals(Status.Code.INVALID_ARGUMENT, read.status().getCode(), path + ": " + read.status());
        }
      }
      // The symlink itself is listed as a symlink and never followed.
      List<ManifestEntry> entries = new ArrayList<>();
      MediaServiceGrpc.newBlockingStub(connection.channel()).getManifest(GetManifestRequest.getDefaultInstance())
          .forEachRemaining((GetManifestResponse r) -> entries.addAll(r.getEntriesList()));
      assertTrue(entries.stream().anyMatch(e -> e.getPath().equals("link") && e.getSymlinkTarget().equals(outside.toString())));
      assertFalse(entries.stream().anyMatch(e -> e.getPath().startsWith("link/")));
      // A good read still works on the same session.
      Read good = readFiles(connection, entries.stream().filter(e -> e.getSize() > 0).findFirst().orElseThrow().getPath());
      assertEquals(Status.Code.OK, good.status().getCode(), good.status().toString());
    }
  }
}
