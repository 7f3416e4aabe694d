package dev.ferry.controller.reliability;

import static io.grpc.Status.Code.FAILED_PRECONDITION;
import static io.grpc.Status.Code.INVALID_ARGUMENT;
import static io.grpc.Status.Code.OK;
import static io.grpc.Status.Code.PERMISSION_DENIED;
import static io.grpc.Status.Code.RESOURCE_EXHAUSTED;
import static io.grpc.Status.Code.UNAVAILABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.CheckCopyRequest;
import dev.ferry.proto.v1.CheckCopyResponse;
import dev.ferry.proto.v1.CheckSecretsRequest;
import dev.ferry.proto.v1.CheckWebRequest;
import dev.ferry.proto.v1.ControlUnitsRequest;
import dev.ferry.proto.v1.CopyDatabaseRequest;
import dev.ferry.proto.v1.CopyOptions;
import dev.ferry.proto.v1.CopyRedisDumpRequest;
import dev.ferry.proto.v1.CopySecretsRequest;
import dev.ferry.proto.v1.CountDatabaseRequest;
import dev.ferry.proto.v1.DatabaseFacts;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.DescribeDatabaseRequest;
import dev.ferry.proto.v1.DumpDatabaseRequest;
import dev.ferry.proto.v1.FileRequest;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PairRequest;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.PreflightProblem;
import dev.ferry.proto.v1.PullMediaRequest;
import dev.ferry.proto.v1.ReadFilesRequest;
import dev.ferry.proto.v1.ReadFilesResponse;
import dev.ferry.proto.v1.ReadRedisDumpRequest;
import dev.ferry.proto.v1.ReadSecretsRequest;
import dev.ferry.proto.v1.RedeemTicketRequest;
import dev.ferry.proto.v1.RunTootctlRequest;
import dev.ferry.proto.v1.Ticket;
import dev.ferry.proto.v1.UnitAction;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bad-input corpus: one row per hostile input to every rpc of every ferry.v1 service, sent
 * with raw stubs over real mutual TLS to real agents. Each row names the status the agent must
 * answer, and after each row nothing may have changed: no file under the hosts' directories
 * (media roots, secrets, Redis dumps, the sentinel beside the roots, the fake tootctl's log), no
 * database or role, no trust.
 */
@Timeout(150)
class BadInputCorpusTest {
  private static final Set<Operation> READ_MEDIA = Set.of(Operation.OPERATION_READ_MEDIA);
  private static final Set<Operation> DUMP = Set.of(Operation.OPERATION_DUMP_DATABASE);
  /** Beyond the agent's 2 MiB inbound limit. */
  private static final int OVERSIZED = 3 * 1024 * 1024;
  private static final int DEADLINE_SECONDS = 60;

  @TempDir static Path dir;
  static HostileLab lab;

  @BeforeAll
  static void start() throws Exception {
    lab = HostileLab.start(dir);
  }

  @AfterAll
  static void stop() throws Exception {
    if (lab != null) {
      lab.close();
    }
  }

  /** One hostile call; returns how it ended (and may assert on what came back). */
  @FunctionalInterface
  interface Call {
    Status run(HostileLab lab) throws Exception;
  }

  record Row(String name, Status.Code expected, Call call) {
    @Override
    public String toString() {
      return name + " -> " + expected;
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void refusedWithoutSideEffects(Row row) throws Exception {
    HostileLab.Snapshot before = lab.snapshot();
    Status status = row.call().run(lab);
    assertEquals(row.expected(), status.getCode(), row.name() + ": " + status);
    String description = String.valueOf(status.getDescription());
    assertFalse(description.contains(HostileLab.SECRET_KEY_BASE), "a secret value in an error: " + description);
    assertFalse(description.contains(new String(HostileLab.SECRET, StandardCharsets.UTF_8)), description);
    HostileLab.Snapshot after = lab.snapshot();
    assertEquals(before, after, row.name() + " changed something: " + before.differences(after));
  }

  /** The corpus must cover every rpc of every service; a new rpc without rows fails here. */
  @Test
  void everyRpcHasRows() {
    List<String> methods = new ArrayList<>();
    for (var service : List.of(AgentServiceGrpc.getServiceDescriptor(), MediaServiceGrpc.getServiceDescriptor(),
        DatabaseServiceGrpc.getServiceDescriptor(), HostServiceGrpc.getServiceDescriptor())) {
      service.getMethods().forEach(m -> methods.add(m.getBareMethodName()));
    }
    List<String> names = corpus().map(Row::name).toList();
    for (String method : methods) {
      assertTrue(names.stream().anyMatch(n -> n.startsWith(method + ":")), "no hostile rows for " + method);
    }
  }

  static Stream<Row> corpus() {
    List<Row> rows = new ArrayList<>();
    agentService(rows);
    mediaService(rows);
    databaseService(rows);
    hostService(rows);
    return rows.stream();
  }

  // --- AgentService -----------------------------------------------------------------------------

  private static void agentService(List<Row> rows) {
    rows.add(new Row("Pair: a proof of the wrong length", INVALID_ARGUMENT, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).pair(PairRequest.newBuilder().setProof(ByteString.copyFrom(new byte[5])).build()))));
    rows.add(new Row("Pair: a controller name that forges a log line", INVALID_ARGUMENT, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).pair(pair("ctl\nSEVERE: paired with root", 32)))));
    rows.add(new Row("Pair: a controller name of 100 000 characters", INVALID_ARGUMENT, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).pair(pair("x".repeat(100_000), 32)))));
    rows.add(new Row("Pair: an oversized message", RESOURCE_EXHAUSTED, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).pair(pair("x".repeat(OVERSIZED), 32)))));
    rows.add(new Row("Pair: a guessed proof with no code pending", FAILED_PRECONDITION, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).pair(pair("guess", 32)))));

    rows.add(new Row("GetStatus: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).getStatus(GetStatusRequest.getDefaultInstance()))));
    rows.add(new Row("GetStatus: a peer with a media ticket", PERMISSION_DENIED, lab -> unary(() ->
        agent(lab.peerSession(READ_MEDIA)).getStatus(GetStatusRequest.getDefaultInstance()))));
    rows.add(new Row("GetStatus: a session token invented by the caller", PERMISSION_DENIED, lab -> unary(() ->
        agent(HostileLab.withSession(lab.channel(lab.source, lab.stranger), hex(32))).getStatus(GetStatusRequest.getDefaultInstance()))));

    rows.add(new Row("RedeemTicket: no ticket", INVALID_ARGUMENT, lab -> redeem(lab, RedeemTicketRequest.getDefaultInstance())));
    rows.add(new Row("RedeemTicket: claims that are not a protobuf", INVALID_ARGUMENT, lab -> redeem(lab,
        HostileLab.sign(lab.controllerIdentity, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01}))));
    rows.add(new Row("RedeemTicket: a flipped signature bit", PERMISSION_DENIED, lab -> {
      Ticket good = lab.ticket(lab.peer.fingerprint(), READ_MEDIA);
      byte[] signature = good.getSignature().toByteArray();
      signature[signature.length / 2] ^= 0x01;
      return redeem(lab, good.toBuilder().setSignature(ByteString.copyFrom(signature)).build());
    }));
    rows.add(new Row("RedeemTicket: claims changed after signing (more operations)", PERMISSION_DENIED, lab -> {
      Ticket good = lab.ticket(lab.peer.fingerprint(), READ_MEDIA);
      var claims = dev.ferry.proto.v1.TicketClaims.parseFrom(good.getClaims()).toBuilder()
          .addOperations(Operation.OPERATION_READ_SECRETS).build();
      return redeem(lab, good.toBuilder().setClaims(claims.toByteString()).build());
    }));
    rows.add(new Row("RedeemTicket: signed by an unpaired controller", PERMISSION_DENIED, lab -> redeem(lab,
        HostileLab.sign(lab.stranger, lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA)
            .setIssuerFingerprint(lab.stranger.fingerprint()).build().toByteArray()))));
    rows.add(new Row("RedeemTicket: naming a paired controller but signed by another key", PERMISSION_DENIED, lab -> redeem(lab,
        HostileLab.sign(lab.stranger, lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA).build().toByteArray()))));
    rows.add(new Row("RedeemTicket: expired", PERMISSION_DENIED, lab -> redeemSigned(lab, lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA)
        .setIssuedAtUnixMillis(System.currentTimeMillis() - 600_000).setExpiresAtUnixMillis(System.currentTimeMillis() - 1))));
    rows.add(new Row("RedeemTicket: a lifetime over the 15 minute bound", PERMISSION_DENIED, lab -> redeemSigned(lab,
        lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA).setExpiresAtUnixMillis(System.currentTimeMillis() + 86_400_000L))));
    rows.add(new Row("RedeemTicket: issued in the future to stretch its life", PERMISSION_DENIED, lab -> redeemSigned(lab,
        lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA)
            .setIssuedAtUnixMillis(System.currentTimeMillis() + 365L * 86_400_000L)
            .setExpiresAtUnixMillis(System.currentTimeMillis() + 365L * 86_400_000L + 60_000))));
    rows.add(new Row("RedeemTicket: held by another agent", PERMISSION_DENIED, lab -> redeem(lab,
        lab.ticket(lab.thief.fingerprint(), READ_MEDIA))));
    rows.add(new Row("RedeemTicket: for another source agent", PERMISSION_DENIED, lab -> redeemSigned(lab,
        lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA).setSourceFingerprint(lab.target.fingerprint()))));
    rows.add(new Row("RedeemTicket: replayed", PERMISSION_DENIED, lab -> {
      Ticket once = lab.ticket(lab.peer.fingerprint(), READ_MEDIA);
      assertEquals(OK, redeem(lab, once).getCode(), "the first use is fine");
      return redeem(lab, once);
    }));
    rows.add(new Row("RedeemTicket: no nonce", PERMISSION_DENIED, lab -> redeemSigned(lab,
        lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA).clearNonce())));
    rows.add(new Row("RedeemTicket: no operation", PERMISSION_DENIED, lab -> redeemSigned(lab, lab.claims(lab.peer.fingerprint()))));
    rows.add(new Row("RedeemTicket: OPERATION_UNSPECIFIED", PERMISSION_DENIED, lab -> redeemSigned(lab,
        lab.claims(lab.peer.fingerprint(), Operation.OPERATION_UNSPECIFIED))));
    rows.add(new Row("RedeemTicket: an oversized ticket", RESOURCE_EXHAUSTED, lab -> redeem(lab,
        Ticket.newBuilder().setClaims(ByteString.copyFrom(new byte[OVERSIZED])).build())));

    rows.add(new Row("CheckWeb: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        agent(lab.channel(lab.source, lab.stranger)).checkWeb(CheckWebRequest.newBuilder().setExpectedDomain("example.test").build()))));
    rows.add(new Row("CheckWeb: no expected domain", INVALID_ARGUMENT, lab -> unary(() ->
        agent(lab.controller(lab.source)).checkWeb(CheckWebRequest.newBuilder().setExpectedDomain("  ").build()))));
  }

  private static PairRequest pair(String name, int proofLength) {
    return PairRequest.newBuilder().setControllerName(name).setProof(ByteString.copyFrom(HostileLab.random(proofLength))).build();
  }

  private static Status redeem(HostileLab lab, Ticket ticket) throws Exception {
    return redeem(lab, RedeemTicketRequest.newBuilder().setTicket(ticket).build());
  }

  private static Status redeem(HostileLab lab, RedeemTicketRequest request) throws Exception {
    return unary(() -> agent(lab.channel(lab.source, lab.peer)).redeemTicket(request));
  }

  private static Status redeemSigned(HostileLab lab, dev.ferry.proto.v1.TicketClaims.Builder claims) throws Exception {
    return redeem(lab, HostileLab.sign(lab.controllerIdentity, claims.build().toByteArray()));
  }

  // --- MediaService -----------------------------------------------------------------------------

  private static void mediaService(List<Row> rows) {
    rows.add(new Row("GetManifest: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        media(lab.channel(lab.source, lab.stranger)).getManifest(GetManifestRequest.getDefaultInstance()))));
    rows.add(new Row("GetManifest: a peer without a session", PERMISSION_DENIED, lab -> drain(
        media(lab.channel(lab.source, lab.peer)).getManifest(GetManifestRequest.getDefaultInstance()))));
    rows.add(new Row("GetManifest: a session for another operation", PERMISSION_DENIED, lab -> drain(
        media(lab.peerSession(DUMP)).getManifest(GetManifestRequest.getDefaultInstance()))));
    rows.add(new Row("GetManifest: a session token stolen by another certificate", PERMISSION_DENIED, lab -> drain(
        media(HostileLab.withSession(lab.channel(lab.source, lab.thief), lab.redeem(READ_MEDIA))).getManifest(GetManifestRequest.getDefaultInstance()))));
    rows.add(new Row("GetManifest: a session whose ticket has since expired", PERMISSION_DENIED, lab -> {
      long expires = System.currentTimeMillis() + 1500;
      String token = agent(lab.channel(lab.source, lab.peer)).redeemTicket(RedeemTicketRequest.newBuilder().setTicket(HostileLab.sign(
          lab.controllerIdentity, lab.claims(lab.peer.fingerprint(), Operation.OPERATION_READ_MEDIA).setExpiresAtUnixMillis(expires)
              .build().toByteArray())).build()).getSessionToken();
      Channel session = HostileLab.withSession(lab.channel(lab.source, lab.peer), token);
      assertEquals(OK, drain(media(session).getManifest(GetManifestRequest.getDefaultInstance())).getCode(), "fine while it lasts");
      Thread.sleep(Math.max(0, expires - System.currentTimeMillis()) + 100);
      return drain(media(session).getManifest(GetManifestRequest.getDefaultInstance()));
    }));
    rows.add(new Row("GetManifest: a session token with a non-hex shape", PERMISSION_DENIED, lab -> drain(
        media(HostileLab.withSession(lab.channel(lab.source, lab.peer), "../../" + "A".repeat(4000))).getManifest(GetManifestRequest.getDefaultInstance()))));

    for (String path : List.of("../outside/secret", "escape/../../outside/secret", "/etc/passwd", "escape/secret",
        "accounts/\0/x", "accounts\\..\\..\\outside", "", ".", "./accounts", "accounts//x", "accounts/..")) {
      rows.add(new Row("ReadFiles: path '" + printable(path) + "'", INVALID_ARGUMENT, lab -> readFiles(lab, List.of(file(path, 0)))));
    }
    rows.add(new Row("ReadFiles: a 200 000-character path of non-ASCII letters", INVALID_ARGUMENT, lab ->
        readFiles(lab, List.of(file("../" + "\u20ac".repeat(200_000), 0)))));
    rows.add(new Row("ReadFiles: a negative offset", INVALID_ARGUMENT, lab -> readFiles(lab, List.of(file(firstFile(lab), -1)))));
    rows.add(new Row("ReadFiles: an offset of Long.MIN_VALUE", INVALID_ARGUMENT, lab -> readFiles(lab, List.of(file(firstFile(lab), Long.MIN_VALUE)))));
    rows.add(new Row("ReadFiles: an offset past the end sends the whole file (resume from a stale partial)", OK, lab -> {
      ReadResult read = readFilesRaw(lab, lab.peerSession(READ_MEDIA), List.of(ReadFilesRequest.newBuilder()
          .addFiles(file(firstFile(lab), Long.MAX_VALUE)).setLast(true).build()));
      assertTrue(read.bytes().length > Files.size(lab.sourceRoot.resolve(firstFile(lab))), "the whole file came");
      return read.status();
    }));
    rows.add(new Row("ReadFiles: the same path twice is served twice, harmlessly", OK, lab ->
        readFiles(lab, List.of(file(firstFile(lab), 0), file(firstFile(lab), 0)))));
    rows.add(new Row("ReadFiles: a bad path after good ones stops the stream", INVALID_ARGUMENT, lab ->
        readFiles(lab, List.of(file(firstFile(lab), 0), file("../outside/secret", 0)))));
    rows.add(new Row("ReadFiles: the symlink to outside is sent as a link, never followed", OK, lab -> readFiles(lab, List.of(file("escape", 0)))));
    rows.add(new Row("ReadFiles: an oversized request", RESOURCE_EXHAUSTED, lab -> readFilesRaw(lab, lab.peerSession(READ_MEDIA), List.of(
        ReadFilesRequest.newBuilder().addFiles(file("x".repeat(OVERSIZED), 0)).setLast(true).build())).status()));
    rows.add(new Row("ReadFiles: an unpaired client certificate", PERMISSION_DENIED, lab -> readFilesRaw(lab,
        lab.channel(lab.source, lab.stranger), List.of(ReadFilesRequest.newBuilder().addFiles(file(firstFile(lab), 0)).setLast(true).build())).status()));
    rows.add(new Row("ReadFiles: a session for the database", PERMISSION_DENIED, lab -> readFilesRaw(lab,
        lab.peerSession(DUMP), List.of(ReadFilesRequest.newBuilder().addFiles(file(firstFile(lab), 0)).setLast(true).build())).status()));

    rows.add(new Row("PullMedia: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        media(lab.channel(lab.target, lab.stranger)).pullMedia(PullMediaRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_MEDIA)).build()))));
    rows.add(new Row("PullMedia: no source", INVALID_ARGUMENT, lab -> drain(
        media(lab.controller(lab.target)).pullMedia(PullMediaRequest.getDefaultInstance()))));
    rows.add(new Row("PullMedia: a source without a ticket", INVALID_ARGUMENT, lab -> pull(lab,
        lab.targetSource(Operation.OPERATION_READ_MEDIA).toBuilder().clearTicket().build())));
    rows.add(new Row("PullMedia: a ticket for another operation", PERMISSION_DENIED, lab -> pull(lab, lab.targetSource(Operation.OPERATION_DUMP_DATABASE))));
    rows.add(new Row("PullMedia: a ticket for another holder", PERMISSION_DENIED, lab -> pull(lab,
        lab.peerSource(lab.ticket(lab.peer.fingerprint(), READ_MEDIA)))));
    rows.add(new Row("PullMedia: an expired ticket", PERMISSION_DENIED, lab -> pull(lab, lab.peerSource(HostileLab.sign(lab.controllerIdentity,
        lab.claims(lab.target.fingerprint(), Operation.OPERATION_READ_MEDIA).setExpiresAtUnixMillis(System.currentTimeMillis() - 1000).build().toByteArray())))));
    rows.add(new Row("PullMedia: a source pinned to the wrong fingerprint", UNAVAILABLE, lab -> pull(lab,
        lab.targetSource(Operation.OPERATION_READ_MEDIA).toBuilder().setFingerprint(lab.thief.fingerprint()).build())));
    rows.add(new Row("PullMedia: a source address with a shell in it", INVALID_ARGUMENT, lab -> pull(lab,
        lab.targetSource(Operation.OPERATION_READ_MEDIA).toBuilder().setAddress("$(reboot):22").build())));
    rows.add(new Row("PullMedia: nobody listening at the source address", UNAVAILABLE, lab -> pull(lab,
        lab.targetSource(Operation.OPERATION_READ_MEDIA).toBuilder().setAddress("127.0.0.1:1").build())));
  }

  static String firstFile(HostileLab lab) throws Exception {
    try (Stream<Path> all = Files.walk(lab.sourceRoot)) {
      return lab.sourceRoot.relativize(all.filter(Files::isRegularFile).sorted().findFirst().orElseThrow()).toString();
    }
  }

  static FileRequest file(String path, long offset) {
    return FileRequest.newBuilder().setPath(path).setOffset(offset).build();
  }

  private static Status pull(HostileLab lab, PeerSource source) {
    return drain(media(lab.controller(lab.target)).pullMedia(PullMediaRequest.newBuilder().setSource(source).build()));
  }

  /** What a ReadFiles call returned: the tar bytes, and how it ended. */
  record ReadResult(byte[] bytes, Status status) {}

  private static Status readFiles(HostileLab lab, List<FileRequest> files) throws Exception {
    ReadResult read = readFilesRaw(lab, lab.peerSession(READ_MEDIA), List.of(ReadFilesRequest.newBuilder().addAllFiles(files).setLast(true).build()));
    assertFalse(contains(read.bytes(), HostileLab.SECRET), "the sentinel outside the root leaked");
    return read.status();
  }

  static ReadResult readFilesRaw(HostileLab lab, Channel channel, List<ReadFilesRequest> requests) throws Exception {
    CompletableFuture<Status> end = new CompletableFuture<>();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StreamObserver<ReadFilesRequest> out = MediaServiceGrpc.newStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .readFiles(new StreamObserver<>() {
          @Override
          public void onNext(ReadFilesResponse value) {
            synchronized (bytes) {
              bytes.writeBytes(value.getChunk().toByteArray());
            }
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
    requests.forEach(out::onNext);
    out.onCompleted();
    Status status = end.get(DEADLINE_SECONDS + 5, TimeUnit.SECONDS);
    synchronized (bytes) {
      return new ReadResult(bytes.toByteArray(), status);
    }
  }

  // --- DatabaseService --------------------------------------------------------------------------

  private static final List<String> HOSTILE_NAMES = List.of(
      "x'; DROP DATABASE mastodon_production; --",
      "\"; DROP ROLE mastodon; --",
      "$(reboot)",
      "`id`",
      "mastodon\nDROP DATABASE mastodon",
      "mastodon\0postgres",
      ":'role'",
      "--help");

  private static void databaseService(List<Row> rows) {
    rows.add(new Row("DescribeDatabase: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        db(lab.channel(lab.source, lab.stranger)).describeDatabase(DescribeDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("DescribeDatabase: a media session", PERMISSION_DENIED, lab -> unary(() ->
        db(lab.peerSession(READ_MEDIA)).describeDatabase(DescribeDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("CountDatabase: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        db(lab.channel(lab.source, lab.stranger)).countDatabase(CountDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("CountDatabase: a secrets session", PERMISSION_DENIED, lab -> unary(() ->
        db(lab.peerSession(Set.of(Operation.OPERATION_READ_SECRETS))).countDatabase(CountDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("DumpDatabase: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        db(lab.channel(lab.source, lab.stranger)).dumpDatabase(DumpDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("DumpDatabase: a media session", PERMISSION_DENIED, lab -> drain(
        db(lab.peerSession(READ_MEDIA)).dumpDatabase(DumpDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("DumpDatabase: a peer without a session", PERMISSION_DENIED, lab -> drain(
        db(lab.channel(lab.source, lab.peer)).dumpDatabase(DumpDatabaseRequest.getDefaultInstance()))));

    rows.add(new Row("CheckCopy: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        db(lab.channel(lab.target, lab.stranger)).checkCopy(CheckCopyRequest.newBuilder().setSource(DatabaseFacts.getDefaultInstance()).build()))));
    rows.add(new Row("CheckCopy: no source facts", INVALID_ARGUMENT, lab -> unary(() ->
        db(lab.controller(lab.target)).checkCopy(CheckCopyRequest.getDefaultInstance()))));
    rows.add(new Row("CheckCopy: jobs -1", INVALID_ARGUMENT, lab -> checkCopy(lab, facts(List.of()), -1)));
    rows.add(new Row("CheckCopy: jobs 65", INVALID_ARGUMENT, lab -> checkCopy(lab, facts(List.of()), 65)));
    rows.add(new Row("CheckCopy: jobs Integer.MAX_VALUE", INVALID_ARGUMENT, lab -> checkCopy(lab, facts(List.of()), Integer.MAX_VALUE)));
    rows.add(new Row("CheckCopy: injection-shaped grantee roles are only reported missing", OK, lab -> {
      CheckCopyResponse response = db(lab.controller(lab.target)).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
          .checkCopy(CheckCopyRequest.newBuilder().setSource(facts(HOSTILE_NAMES)).build());
      PreflightProblem missing = response.getProblemsList().stream().filter(p -> p.getCode().equals("missing_grantee_roles")).findFirst().orElseThrow();
      assertEquals(PreflightProblem.Severity.SEVERITY_REFUSAL, missing.getSeverity());
      return Status.OK;
    }));
    rows.add(new Row("CheckCopy: injection-shaped database, role and superuser names change nothing", OK, lab -> {
      for (String name : HOSTILE_NAMES) {
        DatabaseFacts facts = facts(List.of()).toBuilder().setDatabaseName(name).setRole(name).setSuperuser(name).setStagingName(name).build();
        db(lab.controller(lab.target)).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
            .checkCopy(CheckCopyRequest.newBuilder().setSource(facts).build());
      }
      return Status.OK;
    }));
    rows.add(new Row("CheckCopy: 100 000 grantee roles are answered without 100 000 queries", OK, lab -> {
      List<String> many = new ArrayList<>();
      for (int i = 0; i < 100_000; i++) {
        many.add("role_" + i);
      }
      long started = System.nanoTime();
      Status status = checkCopy(lab, facts(many), 0);
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
      assertTrue(seconds < 20, "took " + seconds + " s");
      return status;
    }));
    rows.add(new Row("CheckCopy: an oversized message", RESOURCE_EXHAUSTED, lab -> checkCopy(lab,
        facts(List.of()).toBuilder().addErrors("e".repeat(OVERSIZED)).build(), 0)));

    rows.add(new Row("CopyDatabase: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        db(lab.channel(lab.target, lab.stranger)).copyDatabase(CopyDatabaseRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_DUMP_DATABASE)).build()))));
    rows.add(new Row("CopyDatabase: a peer with a dump session", PERMISSION_DENIED, lab -> drain(
        db(lab.peerSession(DUMP)).copyDatabase(CopyDatabaseRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_DUMP_DATABASE)).build()))));
    rows.add(new Row("CopyDatabase: no source", INVALID_ARGUMENT, lab -> drain(
        db(lab.controller(lab.target)).copyDatabase(CopyDatabaseRequest.getDefaultInstance()))));
    rows.add(new Row("CopyDatabase: jobs 1000", INVALID_ARGUMENT, lab -> drain(
        db(lab.controller(lab.target)).copyDatabase(CopyDatabaseRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_DUMP_DATABASE))
            .setOptions(CopyOptions.newBuilder().setJobs(1000)).build()))));
    rows.add(new Row("CopyDatabase: a media ticket", PERMISSION_DENIED, lab -> copyDatabase(lab, lab.targetSource(Operation.OPERATION_READ_MEDIA))));
    rows.add(new Row("CopyDatabase: a forged ticket", PERMISSION_DENIED, lab -> copyDatabase(lab, lab.peerSource(HostileLab.sign(lab.stranger,
        lab.claims(lab.target.fingerprint(), Operation.OPERATION_DUMP_DATABASE).build().toByteArray())))));
    rows.add(new Row("CopyDatabase: an expired ticket", PERMISSION_DENIED, lab -> copyDatabase(lab, lab.peerSource(HostileLab.sign(lab.controllerIdentity,
        lab.claims(lab.target.fingerprint(), Operation.OPERATION_DUMP_DATABASE).setExpiresAtUnixMillis(1).setIssuedAtUnixMillis(0).build().toByteArray())))));
  }

  private static DatabaseFacts facts(List<String> grantees) {
    return DatabaseFacts.newBuilder()
        .setDatabaseName("mastodon_production").setRole("mastodon").setSuperuser("postgres")
        .setServerVersion("15.8").setPgDumpVersion("15.8").setPgRestoreVersion("15.8")
        .setDatabaseExists(true).setDatabaseSizeBytes(1 << 20).setEncoding("UTF8")
        .setRoleExists(true).setOsUserExists(true).addAllGrantees(grantees).setTableCount(1)
        .build();
  }

  private static Status checkCopy(HostileLab lab, DatabaseFacts facts, int jobs) throws Exception {
    return unary(() -> db(lab.controller(lab.target)).checkCopy(
        CheckCopyRequest.newBuilder().setSource(facts).setOptions(CopyOptions.newBuilder().setJobs(jobs)).build()));
  }

  private static Status copyDatabase(HostileLab lab, PeerSource source) {
    return drain(db(lab.controller(lab.target)).copyDatabase(CopyDatabaseRequest.newBuilder().setSource(source).build()));
  }

  // --- HostService ------------------------------------------------------------------------------

  private static void hostService(List<Row> rows) {
    for (String unit : List.of("foo;reboot", "$(id)", "`id`", "../x", "mastodon-web\nreboot", "mastodon-web;reboot",
        "mastodon-web ferry-agent", "-H root@evil", "--root=/", "", "mastodon-\0web", "ferry-agent.service", "ssh", "*")) {
      rows.add(new Row("ControlUnits: stop unit '" + printable(unit) + "'", PERMISSION_DENIED, lab -> units(lab, UnitAction.UNIT_ACTION_STOP, List.of(unit), 0)));
    }
    rows.add(new Row("ControlUnits: one allowlisted and one hostile unit refuses the whole request", PERMISSION_DENIED, lab ->
        units(lab, UnitAction.UNIT_ACTION_STOP, List.of("mastodon-web", "foo;reboot"), 0)));
    rows.add(new Row("ControlUnits: 50 000 hostile units", PERMISSION_DENIED, lab ->
        units(lab, UnitAction.UNIT_ACTION_START, Collections.nCopies(50_000, "x;reboot"), 0)));
    rows.add(new Row("ControlUnits: 20 000 non-ASCII unit names", PERMISSION_DENIED, lab ->
        units(lab, UnitAction.UNIT_ACTION_STOP, Collections.nCopies(20_000, "\u00fcnit;reboot\u20ac"), 0)));
    rows.add(new Row("ControlUnits: no action", INVALID_ARGUMENT, lab -> units(lab, UnitAction.UNIT_ACTION_UNSPECIFIED, List.of("mastodon-web"), 0)));
    rows.add(new Row("ControlUnits: an unknown action number", INVALID_ARGUMENT, lab -> unary(() -> host(lab.controller(lab.source)).controlUnits(
        ControlUnitsRequest.newBuilder().setActionValue(99).addUnits("mastodon-web").build()))));
    rows.add(new Row("ControlUnits: a negative timeout", INVALID_ARGUMENT, lab -> units(lab, UnitAction.UNIT_ACTION_STOP, List.of("mastodon-web"), -1)));
    rows.add(new Row("ControlUnits: a timeout over 600 s", INVALID_ARGUMENT, lab -> units(lab, UnitAction.UNIT_ACTION_STOP, List.of("mastodon-web"), 601)));
    // The control row: a good request gets past validation and meets this host's missing systemd.
    rows.add(new Row("ControlUnits: an allowlisted unit on a host without systemd", FAILED_PRECONDITION, lab ->
        units(lab, UnitAction.UNIT_ACTION_STATUS, List.of("mastodon-web"), 0)));
    rows.add(new Row("ControlUnits: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() -> host(lab.channel(lab.source, lab.stranger))
        .controlUnits(ControlUnitsRequest.newBuilder().setAction(UnitAction.UNIT_ACTION_STOP).build()))));
    rows.add(new Row("ControlUnits: a peer with every ticket operation", PERMISSION_DENIED, lab -> unary(() -> host(lab.peerSession(Set.of(
        Operation.OPERATION_READ_MEDIA, Operation.OPERATION_DUMP_DATABASE, Operation.OPERATION_READ_SECRETS, Operation.OPERATION_READ_REDIS)))
        .controlUnits(ControlUnitsRequest.newBuilder().setAction(UnitAction.UNIT_ACTION_STOP).build()))));
    rows.add(new Row("ControlUnits: an oversized message", RESOURCE_EXHAUSTED, lab -> units(lab, UnitAction.UNIT_ACTION_STOP, List.of("m".repeat(OVERSIZED)), 0)));

    rows.add(new Row("CheckSecrets: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.channel(lab.source, lab.stranger)).checkSecrets(CheckSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("CheckSecrets: a peer with a secrets session (controllers only)", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.peerSession(Set.of(Operation.OPERATION_READ_SECRETS))).checkSecrets(CheckSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("ReadSecrets: the paired controller itself", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.controller(lab.source)).readSecrets(ReadSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("ReadSecrets: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.channel(lab.source, lab.stranger)).readSecrets(ReadSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("ReadSecrets: a media session", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.peerSession(READ_MEDIA)).readSecrets(ReadSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("ReadSecrets: a secrets session token stolen by another certificate", PERMISSION_DENIED, lab -> unary(() ->
        host(HostileLab.withSession(lab.channel(lab.source, lab.thief), lab.redeem(Set.of(Operation.OPERATION_READ_SECRETS))))
            .readSecrets(ReadSecretsRequest.getDefaultInstance()))));
    rows.add(new Row("CopySecrets: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.channel(lab.target, lab.stranger)).copySecrets(CopySecretsRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_SECRETS)).build()))));
    rows.add(new Row("CopySecrets: no source", INVALID_ARGUMENT, lab -> unary(() ->
        host(lab.controller(lab.target)).copySecrets(CopySecretsRequest.getDefaultInstance()))));
    rows.add(new Row("CopySecrets: a media ticket", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.controller(lab.target)).copySecrets(CopySecretsRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_MEDIA)).build()))));
    rows.add(new Row("CopySecrets: a forged ticket", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.controller(lab.target)).copySecrets(CopySecretsRequest.newBuilder().setSource(lab.peerSource(HostileLab.sign(lab.stranger,
            lab.claims(lab.target.fingerprint(), Operation.OPERATION_READ_SECRETS).build().toByteArray()))).build()))));

    for (List<String> args : List.of(List.<String>of(), List.of("feeds"), List.of("accounts", "delete"), List.of("feeds", "build", "; reboot"),
        List.of("feeds", "build", "$(id)"), List.of("feeds", "build", "--x\nreboot"), List.of("feeds", "build", "a b"),
        List.of("../../bin/sh", "-c"), List.of("feeds\0", "build"), List.of("feeds", "build", "x".repeat(201)))) {
      rows.add(new Row("RunTootctl: " + printable(String.join(" ", args)), PERMISSION_DENIED, lab -> drain(
          host(lab.controller(lab.target)).runTootctl(RunTootctlRequest.newBuilder().addAllArgs(args).build()))));
    }
    rows.add(new Row("RunTootctl: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        host(lab.channel(lab.target, lab.stranger)).runTootctl(RunTootctlRequest.newBuilder().addArgs("feeds").addArgs("build").build()))));

    rows.add(new Row("ReadRedisDump: the paired controller itself", PERMISSION_DENIED, lab -> drain(
        host(lab.controller(lab.source)).readRedisDump(ReadRedisDumpRequest.getDefaultInstance()))));
    rows.add(new Row("ReadRedisDump: an unpaired client certificate", PERMISSION_DENIED, lab -> drain(
        host(lab.channel(lab.source, lab.stranger)).readRedisDump(ReadRedisDumpRequest.getDefaultInstance()))));
    rows.add(new Row("ReadRedisDump: a media session", PERMISSION_DENIED, lab -> drain(
        host(lab.peerSession(READ_MEDIA)).readRedisDump(ReadRedisDumpRequest.getDefaultInstance()))));
    rows.add(new Row("CopyRedisDump: an unpaired client certificate", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.channel(lab.target, lab.stranger)).copyRedisDump(CopyRedisDumpRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_REDIS)).build()))));
    rows.add(new Row("CopyRedisDump: no source", INVALID_ARGUMENT, lab -> unary(() ->
        host(lab.controller(lab.target)).copyRedisDump(CopyRedisDumpRequest.getDefaultInstance()))));
    rows.add(new Row("CopyRedisDump: a media ticket", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.controller(lab.target)).copyRedisDump(CopyRedisDumpRequest.newBuilder().setSource(lab.targetSource(Operation.OPERATION_READ_MEDIA)).build()))));
    rows.add(new Row("CopyRedisDump: an expired ticket", PERMISSION_DENIED, lab -> unary(() ->
        host(lab.controller(lab.target)).copyRedisDump(CopyRedisDumpRequest.newBuilder().setSource(lab.peerSource(HostileLab.sign(lab.controllerIdentity,
            lab.claims(lab.target.fingerprint(), Operation.OPERATION_READ_REDIS).setExpiresAtUnixMillis(1).setIssuedAtUnixMillis(0).build().toByteArray()))).build()))));
  }

  private static Status units(HostileLab lab, UnitAction action, List<String> units, int timeout) throws Exception {
    return unary(() -> host(lab.controller(lab.source)).controlUnits(
        ControlUnitsRequest.newBuilder().setAction(action).addAllUnits(units).setTimeoutSeconds(timeout).build()));
  }

  // --- plumbing ---------------------------------------------------------------------------------

  private static AgentServiceGrpc.AgentServiceBlockingStub agent(Channel channel) {
    return AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static MediaServiceGrpc.MediaServiceBlockingStub media(Channel channel) {
    return MediaServiceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static DatabaseServiceGrpc.DatabaseServiceBlockingStub db(Channel channel) {
    return DatabaseServiceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static HostServiceGrpc.HostServiceBlockingStub host(Channel channel) {
    return HostServiceGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  @FunctionalInterface
  interface Unary {
    Object call() throws Exception;
  }

  private static Status unary(Unary call) throws Exception {
    try {
      call.call();
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  /** Reads a server stream to its end; how it ended. */
  private static Status drain(Iterator<?> responses) {
    try {
      while (responses.hasNext()) {
        responses.next();
      }
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private static String hex(int bytes) {
    return HexFormat.of().formatHex(HostileLab.random(bytes));
  }

  private static String printable(String s) {
    String shown = s.replace("\0", "\\0").replace("\n", "\\n");
    return shown.length() > 40 ? shown.substring(0, 40) + "..." : shown;
  }

  static boolean contains(byte[] haystack, byte[] needle) {
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
}
