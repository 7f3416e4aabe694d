package dev.ferry.controller.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.CheckCopyRequest;
import dev.ferry.proto.v1.ControlUnitsRequest;
import dev.ferry.proto.v1.DatabaseFacts;
import dev.ferry.proto.v1.DatabaseServiceGrpc;
import dev.ferry.proto.v1.FileRequest;
import dev.ferry.proto.v1.GetManifestRequest;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.HostServiceGrpc;
import dev.ferry.proto.v1.MediaServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PairRequest;
import dev.ferry.proto.v1.ReadFilesRequest;
import dev.ferry.proto.v1.RedeemTicketRequest;
import dev.ferry.proto.v1.UnitAction;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Protocol fuzz over the wire: valid request messages, serialized, then mutated with a seeded
 * random (bit flips, random bytes, truncation, repeated ranges, appended fields) and sent as raw
 * bytes with the real method names over real mutual TLS. The agents must answer each with a clean
 * status from the rpc's documented set (or INVALID_ARGUMENT for a message that does not parse), never leak
 * the sentinel beside the media root, keep serving, and change nothing on disk or in PostgreSQL.
 *
 * <p>Reproduce with {@code -Dferry.fuzz.seed=SEED}; every failure names its seed and mutation.
 */
@Timeout(150)
class ProtocolFuzzTest {
  private static final long BASE_SEED = Long.getLong("ferry.fuzz.seed", 8_2026L);
  private static final int DEADLINE_SECONDS = 30;

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

  /** One rpc to fuzz: how to make a valid request and send the mutated bytes; the codes it may answer. */
  private record Target(String name, int cases, Set<Status.Code> allowed, Sender sender) {}

  @FunctionalInterface
  private interface Sender {
    Status send(byte[] request) throws Exception;
  }

  @Test
  void mutatedRequestsGetCleanStatusesAndChangeNothing() throws Exception {
    HostileLab.Snapshot before = lab.snapshot();
    Channel sessionChannel = lab.peerSession(Set.of(Operation.OPERATION_READ_MEDIA));
    String someFile;
    try (Stream<Path> all = Files.walk(lab.sourceRoot)) {
      someFile = lab.sourceRoot.relativize(all.filter(Files::isRegularFile).sorted().findFirst().orElseThrow()).toString();
    }
    ReadFilesRequest readFiles = ReadFilesRequest.newBuilder()
        .addFiles(FileRequest.newBuilder().setPath(someFile))
        .addFiles(FileRequest.newBuilder().setPath("site_uploads/latest"))
        .addFiles(FileRequest.newBuilder().setPath(someFile).setOffset(7))
        .setLast(true).build();
    DatabaseFacts facts = DatabaseFacts.newBuilder()
        .setDatabaseName("mastodon_production").setRole("mastodon").setSuperuser("postgres").setServerVersion("15.8")
        .setPgDumpVersion("15.8").setPgRestoreVersion("15.8").setDatabaseExists(true).setDatabaseSizeBytes(1 << 20)
        .setEncoding("UTF8").setRoleExists(true).setOsUserExists(true).addGrantees("reporting").setTableCount(3).build();

    List<Target> targets = List.of(
        new Target("RedeemTicket", 60, Set.of(Status.Code.OK, Status.Code.PERMISSION_DENIED, Status.Code.INVALID_ARGUMENT),
            bytes -> unary(lab.channel(lab.source, lab.peer), AgentServiceGrpc.getRedeemTicketMethod(), bytes)),
        new Target("ReadFiles", 70, Set.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT),
            bytes -> readFiles(sessionChannel, bytes)),
        new Target("GetManifest", 15, Set.of(Status.Code.OK),
            bytes -> serverStream(sessionChannel, MediaServiceGrpc.getGetManifestMethod(), bytes)),
        new Target("ControlUnits", 60, Set.of(Status.Code.PERMISSION_DENIED, Status.Code.INVALID_ARGUMENT, Status.Code.FAILED_PRECONDITION),
            bytes -> unary(lab.controller(lab.source), HostServiceGrpc.getControlUnitsMethod(), bytes)),
        new Target("Pair", 40, Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.FAILED_PRECONDITION),
            bytes -> unary(lab.channel(lab.source, lab.stranger), AgentServiceGrpc.getPairMethod(), bytes)),
        new Target("CheckCopy", 20, Set.of(Status.Code.OK, Status.Code.INVALID_ARGUMENT),
            bytes -> unary(lab.controller(lab.target), DatabaseServiceGrpc.getCheckCopyMethod(), bytes)));

    Map<String, Map<String, Integer>> seen = new TreeMap<>();
    long seed = BASE_SEED;
    System.out.println("protocol fuzz: base seed " + BASE_SEED);
    for (Target target : targets) {
      for (int i = 0; i < target.cases(); i++, seed++) {
        byte[] valid = switch (target.name()) {
          // A fresh ticket each time: a replayed nonce would hide what the mutation does.
          case "RedeemTicket" -> RedeemTicketRequest.newBuilder()
              .setTicket(lab.ticket(lab.peer.fingerprint(), Set.of(Operation.OPERATION_READ_MEDIA))).build().toByteArray();
          case "ReadFiles" -> readFiles.toByteArray();
          case "GetManifest" -> GetManifestRequest.getDefaultInstance().toByteArray();
          case "ControlUnits" -> ControlUnitsRequest.newBuilder().setAction(UnitAction.UNIT_ACTION_STATUS)
              .addUnits("mastodon-web").addUnits("mastodon-sidekiq").setTimeoutSeconds(30).build().toByteArray();
          case "Pair" -> PairRequest.newBuilder().setControllerName("laptop").setProof(com.google.protobuf.ByteString.copyFrom(new byte[32]))
              .build().toByteArray();
          default -> CheckCopyRequest.newBuilder().setSource(facts).build().toByteArray();
        };
        Random random = new Random(seed);
        List<String> applied = new ArrayList<>();
        byte[] mutated = mutate(valid, random, applied);
        String what = target.name() + " seed " + seed + " (" + String.join(", ", applied) + ")";
        Status status = target.sender().send(mutated);
        // A message that does not parse is the caller's error, not the agent's (not UNKNOWN or INTERNAL).
        boolean unparsable = status.getCode() == Status.Code.INVALID_ARGUMENT
            && String.valueOf(status.getDescription()).startsWith("the request is not a valid message");
        assertTrue(unparsable || target.allowed().contains(status.getCode()), what + " answered " + status);
        seen.computeIfAbsent(target.name(), k -> new TreeMap<>()).merge(unparsable ? "unparsable" : status.getCode().name(), 1, Integer::sum);
      }
    }
    System.out.println("protocol fuzz: " + (seed - BASE_SEED) + " mutated requests; statuses " + seen);
    // Still serving, and nothing changed.
    AgentServiceGrpc.newBlockingStub(lab.controller(lab.source)).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance());
    AgentServiceGrpc.newBlockingStub(lab.controller(lab.target)).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance());
    HostileLab.Snapshot after = lab.snapshot();
    assertEquals(before, after, "the fuzz changed something: " + before.differences(after));
  }

  // --- mutations --------------------------------------------------------------------------------

  static byte[] mutate(byte[] in, Random random, List<String> applied) {
    byte[] out = in;
    int rounds = 1 + random.nextInt(2);
    for (int r = 0; r < rounds; r++) {
      if (out.length == 0) {
        byte[] junk = new byte[1 + random.nextInt(40)];
        random.nextBytes(junk);
        applied.add(junk.length + " random bytes");
        out = junk;
        continue;
      }
      int at = random.nextInt(out.length);
      switch (random.nextInt(9)) {
        case 0 -> {
          out = out.clone();
          out[at] ^= (byte) (1 << random.nextInt(8));
          applied.add("bit flip at " + at);
        }
        case 1 -> {
          out = out.clone();
          out[at] = (byte) random.nextInt(256);
          applied.add("byte " + at + " set");
        }
        case 2 -> {
          out = Arrays.copyOf(out, at);
          applied.add("truncated at " + at);
        }
        case 3 -> {
          int length = 1 + random.nextInt(out.length - at);
          ByteArrayOutputStream b = new ByteArrayOutputStream();
          b.write(out, 0, at + length);
          b.write(out, at, out.length - at);
          out = b.toByteArray();
          applied.add("repeated " + length + " bytes at " + at);
        }
        case 4 -> {
          out = out.clone();
          out[at] = (byte) 0xff;
          applied.add("varint continuation at " + at);
        }
        case 6, 7, 8 -> {
          // Keeps the message parsable: a printable byte (inside a string, most likely) becomes
          // a character that paths, unit names and shells treat specially.
          out = out.clone();
          int printable = at;
          while (printable < out.length && (out[printable] < 0x21 || out[printable] > 0x7e)) {
            printable++;
          }
          if (printable < out.length) {
            char c = "/.\0\n;$`*-'\"\\".charAt(random.nextInt(12));
            out[printable] = (byte) c;
            applied.add("byte " + printable + " set to " + (int) c);
          }
        }
        default -> {
          // An extra field: random tag and wire type, random payload.
          byte[] junk = new byte[2 + random.nextInt(30)];
          random.nextBytes(junk);
          ByteArrayOutputStream b = new ByteArrayOutputStream();
          b.write(out, 0, out.length);
          b.write(junk, 0, junk.length);
          out = b.toByteArray();
          applied.add(junk.length + " bytes appended");
        }
      }
    }
    return out;
  }

  // --- raw calls --------------------------------------------------------------------------------

  private static final MethodDescriptor.Marshaller<byte[]> RAW = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };

  private static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> method) {
    return method.toBuilder(RAW, RAW).build();
  }

  private static CallOptions options() {
    return CallOptions.DEFAULT.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static Status unary(Channel channel, MethodDescriptor<?, ?> method, byte[] request) {
    try {
      ClientCalls.blockingUnaryCall(channel, raw(method), options(), request);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private static Status serverStream(Channel channel, MethodDescriptor<?, ?> method, byte[] request) {
    try {
      Iterator<byte[]> responses = ClientCalls.blockingServerStreamingCall(channel, raw(method), options(), request);
      while (responses.hasNext()) {
        assertFalse(BadInputCorpusTest.contains(responses.next(), HostileLab.SECRET), "the sentinel leaked");
      }
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private static Status readFiles(Channel channel, byte[] request) throws Exception {
    CompletableFuture<Status> end = new CompletableFuture<>();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StreamObserver<byte[]> out = ClientCalls.asyncBidiStreamingCall(
        channel.newCall(raw(MediaServiceGrpc.getReadFilesMethod()), options()), new StreamObserver<>() {
          @Override
          public void onNext(byte[] value) {
            synchronized (bytes) {
              bytes.writeBytes(value);
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
    out.onNext(request);
    out.onCompleted();
    Status status = end.get(DEADLINE_SECONDS + 5, TimeUnit.SECONDS);
    synchronized (bytes) {
      assertFalse(BadInputCorpusTest.contains(bytes.toByteArray(), HostileLab.SECRET), "the sentinel leaked");
    }
    return status;
  }
}
