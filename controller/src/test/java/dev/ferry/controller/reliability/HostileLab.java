package dev.ferry.controller.reliability;

import com.google.protobuf.ByteString;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.media.MediaTrees;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.common.identity.Identity;
import dev.ferry.common.identity.PinnedTrustManager;
import dev.ferry.common.ticket.Tickets;
import dev.ferry.controller.client.Channels;
import dev.ferry.controller.testing.TestController;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.Operation;
import dev.ferry.proto.v1.PeerSource;
import dev.ferry.proto.v1.RedeemTicketRequest;
import dev.ferry.proto.v1.Ticket;
import dev.ferry.proto.v1.TicketClaims;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Two real agents (an Ubuntu-like source with media, secrets, a Redis dump and a database; a
 * NixOS-like target with its own), one real PostgreSQL, a paired controller and a few hostile
 * identities, plus a snapshot of everything a refused call must leave alone: every file under
 * the hosts' directories (media roots, secrets, dumps, the sentinel next to the roots, the log
 * that a fake tootctl would write), the databases and roles, and who each agent trusts.
 */
final class HostileLab implements AutoCloseable {
  static final byte[] SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT".getBytes(StandardCharsets.UTF_8);
  static final String SECRET_KEY_BASE = "skb-" + "9".repeat(60);

  final Path dir;
  final Path hosts;
  final Path sourceRoot;
  final Path targetRoot;
  final Path outside;
  final Path tootctlLog;
  final TestPostgres pg;
  final TestAgent source;
  final TestAgent target;
  final TestController controller;
  final Identity controllerIdentity;
  /** A client certificate no agent trusts. */
  final Identity stranger;
  /** Stands in for a target agent: tickets name it as holder. */
  final Identity peer;
  /** A second stranger: for stolen session tokens and tickets held by someone else. */
  final Identity thief;
  /** Stand-ins for each agent's /proc/sys/fs/protected_hardlinks, "1" to start with. */
  final Path sourceHardlinks;
  final Path targetHardlinks;
  private final List<ManagedChannel> channels = new ArrayList<>();

  private HostileLab(Path dir) throws Exception {
    this.dir = dir;
    hosts = Files.createDirectories(dir.resolve("hosts"));
    outside = Files.createDirectories(hosts.resolve("outside"));
    Files.write(outside.resolve("secret"), SECRET);
    Path live = Files.createDirectories(hosts.resolve("source/live"));
    sourceRoot = Files.createDirectories(live.resolve("public/system"));
    MediaTrees.make(sourceRoot, 12, 81);
    Files.createSymbolicLink(sourceRoot.resolve("escape"), outside);
    Files.writeString(live.resolve(".env.production"),
        "LOCAL_DOMAIN=example.test\nSECRET_KEY_BASE=" + SECRET_KEY_BASE + "\nOTP_SECRET=otp-" + "7".repeat(60) + "\n");
    Path sourceRedis = Files.createDirectories(hosts.resolve("source/redis"));
    Files.write(sourceRedis.resolve("dump.rdb"), "REDIS0011-source".getBytes(StandardCharsets.UTF_8));

    Path targetMastodon = Files.createDirectories(hosts.resolve("target/mastodon"));
    targetRoot = targetMastodon.resolve("public-system");
    Path secrets = Files.createDirectories(targetMastodon.resolve("secrets"));
    Files.writeString(secrets.resolve("secret-key-base"), "old-target-value");
    Path targetRedis = Files.createDirectories(hosts.resolve("target/redis"));
    Files.write(targetRedis.resolve("dump.rdb"), "REDIS0011-target".getBytes(StandardCharsets.UTF_8));
    // A stand-in tootctl that records every run: a refused call must leave no log.
    tootctlLog = hosts.resolve("tootctl.log");
    Path tootctl = hosts.resolve("fake-tootctl");
    Files.writeString(tootctl, "#!/bin/sh\necho \"$@\" >> " + tootctlLog + "\n");
    Files.setPosixFilePermissions(tootctl, PosixFilePermissions.fromString("rwxr-xr-x"));

    TestPostgres.ensureOsUser("mastodon");
    pg = TestPostgres.start("hostile");
    pg.createRole("mastodon");
    pg.createDatabase("mastodon_production", "mastodon");
    pg.psqlAs("mastodon", "mastodon_production", "CREATE TABLE statuses (id bigint primary key, text text); INSERT INTO statuses VALUES (1, 'hello');");
    pg.createDatabase("mastodon", "mastodon");

    Map<ConfigKey, String> sourceConfig = new EnumMap<>(ConfigKey.class);
    sourceConfig.putAll(database("mastodon_production"));
    sourceConfig.putAll(Map.of(
        ConfigKey.LAYOUT, "ubuntu",
        ConfigKey.MASTODON_ROOT, live.toString(),
        ConfigKey.MEDIA_ROOT, sourceRoot.toString(),
        ConfigKey.REDIS_DUMP, sourceRedis.resolve("dump.rdb").toString()));
    Path kernel = Files.createDirectories(dir.resolve("kernel"));
    sourceHardlinks = Files.writeString(kernel.resolve("source-protected_hardlinks"), "1\n");
    targetHardlinks = Files.writeString(kernel.resolve("target-protected_hardlinks"), "1\n");
    source = TestAgent.start(Files.createDirectories(dir.resolve("agent-src")), sourceConfig,
        new HardlinkProtection(sourceHardlinks, "source-host"));

    Map<ConfigKey, String> targetConfig = new EnumMap<>(ConfigKey.class);
    targetConfig.putAll(database("mastodon"));
    targetConfig.putAll(Map.of(
        ConfigKey.LAYOUT, "nixos",
        ConfigKey.MASTODON_ROOT, targetMastodon.toString(),
        ConfigKey.MEDIA_ROOT, targetRoot.toString(),
        ConfigKey.SECRETS_DIR, secrets.toString(),
        ConfigKey.MASTODON_USER, "mastodon",
        ConfigKey.MASTODON_GROUP, "mastodon",
        ConfigKey.REDIS_DUMP, targetRedis.resolve("dump.rdb").toString(),
        ConfigKey.TOOTCTL, tootctl.toString()));
    target = TestAgent.start(Files.createDirectories(dir.resolve("agent-tgt")), targetConfig,
        new HardlinkProtection(targetHardlinks, "target-host"));

    controller = new TestController(Files.createDirectories(dir.resolve("controller")));
    controller.pair("src", source);
    controller.pair("tgt", target);
    controllerIdentity = controller.identity();
    stranger = Identity.create(dir.resolve("stranger"), "stranger");
    peer = Identity.create(dir.resolve("peer"), "peer agent");
    thief = Identity.create(dir.resolve("thief"), "thief");
  }

  private Map<ConfigKey, String> database(String name) {
    return Map.of(
        ConfigKey.DB_HOST, pg.socketDir().toString(),
        ConfigKey.DB_PORT, Integer.toString(pg.port()),
        ConfigKey.PG_BINDIR, pg.bindir().toString(),
        ConfigKey.DB_NAME, name,
        ConfigKey.DB_ROLE, "mastodon");
  }

  static HostileLab start(Path dir) throws Exception {
    return new HostileLab(dir);
  }

  /** A channel to {@code agent} presenting {@code identity}'s certificate, over real mutual TLS. */
  Channel channel(TestAgent agent, Identity identity) {
    ManagedChannel channel = Channels.open(agent.address(), identity, PinnedTrustManager.exactly(agent.fingerprint(), "agent"));
    synchronized (channels) {
      channels.add(channel);
    }
    return channel;
  }

  /** The controller's channel to {@code agent}. */
  Channel controller(TestAgent agent) {
    return channel(agent, controllerIdentity);
  }

  /** {@code channel} with a {@code ferry-session} header. */
  static Channel withSession(Channel channel, String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("ferry-session", Metadata.ASCII_STRING_MARSHALLER), token);
    return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** Redeems a fresh ticket for {@code operations} on the source as {@link #peer}; the session token. */
  String redeem(Set<Operation> operations) throws Exception {
    return AgentServiceGrpc.newBlockingStub(channel(source, peer))
        .redeemTicket(RedeemTicketRequest.newBuilder().setTicket(ticket(peer.fingerprint(), operations)).build())
        .getSessionToken();
  }

  /** The peer's channel to the source carrying a session that allows {@code operations}. */
  Channel peerSession(Set<Operation> operations) throws Exception {
    return withSession(channel(source, peer), redeem(operations));
  }

  /** A good ticket from the paired controller for the source, held by {@code holder}. */
  Ticket ticket(String holder, Set<Operation> operations) {
    return Tickets.issue(controllerIdentity, "hostile", source.fingerprint(), holder, operations, Tickets.DEFAULT_TTL, Clock.systemUTC());
  }

  /** Claims like a good ticket's, for tests to bend before signing them with {@link #sign}. */
  TicketClaims.Builder claims(String holder, Operation... operations) {
    long now = System.currentTimeMillis();
    return TicketClaims.newBuilder()
        .setMigrationId("hostile")
        .setIssuerFingerprint(controllerIdentity.fingerprint())
        .setSourceFingerprint(source.fingerprint())
        .setHolderFingerprint(holder)
        .addAllOperations(List.of(operations))
        .setIssuedAtUnixMillis(now)
        .setExpiresAtUnixMillis(now + Duration.ofMinutes(5).toMillis())
        .setNonce(HexFormat.of().formatHex(random(16)));
  }

  /** Signs arbitrary claims with {@code signer}'s key, the way a controller signs tickets. */
  static Ticket sign(Identity signer, byte[] claims) throws Exception {
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(signer.privateKey());
    s.update(claims);
    return Ticket.newBuilder().setClaims(ByteString.copyFrom(claims)).setSignature(ByteString.copyFrom(s.sign())).build();
  }

  static byte[] random(int n) {
    byte[] bytes = new byte[n];
    new java.security.SecureRandom().nextBytes(bytes);
    return bytes;
  }

  /** Where the target should pull from: the real source, pinned, with {@code ticket}. */
  PeerSource peerSource(Ticket ticket) {
    return PeerSource.newBuilder().setAddress(source.address()).setFingerprint(source.fingerprint()).setTicket(ticket).build();
  }

  /** A good ticket for the target to present to the source. */
  PeerSource targetSource(Operation... operations) {
    return peerSource(ticket(target.fingerprint(), Set.of(operations)));
  }

  /** Everything a refused call must not change. Equal snapshots mean nothing changed. */
  record Snapshot(Map<String, String> files, String databases, String roles, Set<String> sourceTrusts, Set<String> targetTrusts) {
    /** What differs, briefly: the whole snapshot is too long to read in a failure. */
    String differences(Snapshot other) {
      List<String> lines = new ArrayList<>();
      java.util.Set<String> paths = new java.util.TreeSet<>(files.keySet());
      paths.addAll(other.files.keySet());
      for (String path : paths) {
        if (!java.util.Objects.equals(files.get(path), other.files.get(path))) {
          lines.add(path + ": " + files.get(path) + " -> " + other.files.get(path));
        }
      }
      if (!databases.equals(other.databases)) {
        lines.add("databases: " + databases + " -> " + other.databases);
      }
      if (!roles.equals(other.roles)) {
        lines.add("roles: " + roles + " -> " + other.roles);
      }
      if (!sourceTrusts.equals(other.sourceTrusts) || !targetTrusts.equals(other.targetTrusts)) {
        lines.add("trusted controllers changed");
      }
      return String.join("; ", lines);
    }
  }

  Snapshot snapshot() throws Exception {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> all = Files.walk(hosts)) {
      for (Path p : all.toList()) {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String what;
        if (a.isSymbolicLink()) {
          what = "link " + Files.readSymbolicLink(p);
        } else if (a.isDirectory()) {
          what = "dir " + a.lastModifiedTime() + " " + Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        } else {
          what = "file " + a.size() + " " + a.lastModifiedTime() + " " + sha256(Files.readAllBytes(p));
        }
        files.put(hosts.relativize(p).toString(), what);
      }
    }
    return new Snapshot(
        files,
        pg.psql("postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"),
        pg.psql("postgres", "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"),
        Set.copyOf(source.state().trustedControllers().keySet()),
        Set.copyOf(target.state().trustedControllers().keySet()));
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  @Override
  public void close() throws IOException, InterruptedException {
    synchronized (channels) {
      channels.forEach(Channels::closeNow);
    }
    source.close();
    target.close();
    pg.close();
  }
}
