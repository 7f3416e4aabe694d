package dev.ferry.controller.demo;

import dev.ferry.agent.Agent;
import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.layout.LayoutResolver;
import dev.ferry.agent.state.AgentState;
import dev.ferry.common.localpg.LocalCluster;
import dev.ferry.controller.client.Pairing;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * {@code ferry demo}: a full migration on one machine. Generates an Ubuntu-shaped source (a real
 * PostgreSQL cluster with a Mastodon-shaped database, a media tree, a .env.production) and an
 * empty NixOS-shaped target (its own cluster, with a seeded database to be set aside), starts two
 * real agents on loopback with mutual TLS, pairs them with a controller home of its own, and
 * runs the real {@code ferry migrate}. Touches no systemd unit: the demo agents have none.
 */
public final class Demo {
  public static final String DOMAIN = "demo.ferry.test";

  private final Path work;
  private final PrintWriter out;

  public Demo(Path work, PrintWriter out) {
    this.work = work;
    this.out = out;
  }

  /** Everything the demo started, to stop in reverse order. */
  private final List<AutoCloseable> started = new ArrayList<>();

  /** The demo leaves the machine's users as it found them (unless asked to keep its files). */
  private boolean createdMastodonUser;

  private LocalCluster sourcePg;
  private LocalCluster targetPg;
  private Path live;
  private Path nixos;

  /**
   * Sets up both hosts, pairs them and returns the controller home, ready for {@code migrate}.
   * Call {@link #close()} afterwards.
   */
  public ControllerHome setUp(int accounts, int statuses) throws Exception {
    requireRoot();
    Files.createDirectories(work);
    // postgres and mastodon must reach their trees below it (a temp dir starts as 0700).
    Files.setPosixFilePermissions(work, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    requireReachable(work);
    createdMastodonUser = LocalCluster.ensureOsUser("mastodon");
    SampleInstance sample = new SampleInstance(accounts, statuses, 42);

    say("source (ubuntu layout): PostgreSQL cluster, mastodon_production, media, .env.production");
    sourcePg = LocalCluster.start("source", work);
    started.add(sourcePg);
    sourcePg.createRole("mastodon");
    sourcePg.createDatabase("mastodon_production", "mastodon");
    sourcePg.psqlAs("mastodon", "mastodon_production", sample.sql());
    live = work.resolve("source/home/mastodon/live");
    long[] media = sample.writeMedia(live.resolve("public/system"));
    Files.writeString(live.resolve(".env.production"), sample.envProduction(DOMAIN, "mastodon_production", sourcePg.socketDir()));
    Files.createDirectories(live.resolve("lib/mastodon"));
    Files.writeString(live.resolve("lib/mastodon/version.rb"), SampleInstance.versionRb(4, 3, 2));
    chown(work.resolve("source/home/mastodon"));
    say(String.format("  %d media files, %s; %d accounts, %d statuses", media[0],
        dev.ferry.controller.format.Sizes.bytes(media[1]), accounts, statuses));

    say("target (nixos layout): its own cluster, an already-seeded 'mastodon' database, empty media");
    targetPg = LocalCluster.start("target", work);
    started.add(targetPg);
    targetPg.createRole("mastodon");
    targetPg.createDatabase("mastodon", "mastodon");
    // What NixOS's mastodon-init-db leaves behind if Mastodon ever started: ferry sets it aside.
    targetPg.psqlAs("mastodon", "mastodon", "CREATE TABLE schema_migrations (version varchar PRIMARY KEY);");
    nixos = work.resolve("target/var/lib/mastodon");
    Files.createDirectories(nixos.resolve("public-system"));
    // As mastodon-init-dirs leaves it on NixOS.
    Files.setPosixFilePermissions(nixos.resolve("public-system"),
        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    Files.createDirectories(nixos.resolve("secrets"));
    Files.createDirectories(nixos.resolve("lib/mastodon"));
    Files.writeString(nixos.resolve("lib/mastodon/version.rb"), SampleInstance.versionRb(4, 3, 2));
    chown(nixos);

    Agent source = startAgent("source", Map.of(
        ConfigKey.LAYOUT, "ubuntu",
        ConfigKey.MASTODON_ROOT, live.toString(),
        ConfigKey.DB_HOST, sourcePg.socketDir().toString(),
        ConfigKey.PG_BINDIR, sourcePg.bindir().toString()));
    Agent target = startAgent("target", Map.of(
        ConfigKey.LAYOUT, "nixos",
        // On NixOS the domain comes from services.mastodon via systemd; the demo has no systemd.
        ConfigKey.MASTODON_LOCAL_DOMAIN, DOMAIN,
        ConfigKey.MASTODON_ROOT, nixos.toString(),
        ConfigKey.DB_HOST, targetPg.socketDir().toString(),
        ConfigKey.PG_BINDIR, targetPg.bindir().toString()));

    ControllerHome home = new ControllerHome(work.resolve("ferry-home"));
    pair(home, "source", source);
    pair(home, "target", target);
    say("agents running on loopback with mutual TLS; paired as 'source' and 'target'");
    return home;
  }

  /**
   * Checks the result independently of ferry: rows and sequences, media bytes, owners and modes,
   * secrets (the NixOS file of each .env.production key), and the set-aside old database.
   */
  public DemoCheck.Result verify() throws Exception {
    Map<String, String> env = dev.ferry.agent.settings.EnvFile.read(live.resolve(".env.production"));
    Map<String, String> secrets = new java.util.TreeMap<>();
    for (var entry : env.entrySet()) {
      String key = entry.getKey();
      if (key.equals("SECRET_KEY_BASE") || key.equals("OTP_SECRET") || key.startsWith("VAPID_")
          || key.startsWith("ACTIVE_RECORD_ENCRYPTION_")) {
        secrets.put(key.toLowerCase(java.util.Locale.ROOT).replace('_', '-'), entry.getValue());
      }
    }
    return DemoCheck.check(sourcePg, "mastodon_production", targetPg, "mastodon",
        live.resolve("public/system"), nixos.resolve("public-system"), secrets, nixos.resolve("secrets"));
  }

  private Agent startAgent(String name, Map<ConfigKey, String> layout) throws Exception {
    Map<ConfigKey, String> config = new EnumMap<>(ConfigKey.class);
    config.put(ConfigKey.LISTEN, "127.0.0.1:0");
    config.put(ConfigKey.STATE_DIR, work.resolve(name + "/agent-state").toString());
    // No units: the demo must never touch this machine's services.
    config.put(ConfigKey.UNITS, "");
    config.putAll(layout);
    AgentConfig agentConfig = AgentConfig.from(config, new LayoutResolver(work.resolve(name)));
    Agent agent = Agent.start(agentConfig);
    started.add(agent);
    return agent;
  }

  private void pair(ControllerHome home, String name, Agent agent) throws Exception {
    String code = new AgentState(agent.config().stateDir()).pairingCodes().create(java.time.Duration.ofMinutes(5), Clock.systemUTC());
    String address = "127.0.0.1:" + agent.port();
    Pairing.Result result = Pairing.pair(home.identity(), "ferry-demo", address, code);
    home.saveHost(new PairedHost(name, address, result.agentFingerprint(), result.hostname(), Instant.now().toString()));
  }

  /** Fails early, and clearly, where initdb would fail later with "Permission denied". */
  private static void requireReachable(Path dir) throws IOException {
    for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
      if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
        throw new IOException("the users postgres and mastodon cannot reach " + dir + " because " + p
            + " is not searchable by others (mode " + java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(p)) + "); choose a --dir elsewhere, for example under /tmp");
      }
    }
  }

  private static void chown(Path dir) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("chown", "-R", "mastodon:mastodon", dir.toString()).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException("chown failed on " + dir);
    }
  }

  private static void requireRoot() {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IllegalStateException(
          "ferry demo needs root: it starts PostgreSQL clusters as the postgres user and files owned by mastodon");
    }
  }

  private void say(String line) {
    out.println("demo: " + line);
    out.flush();
  }

  /** Stops the agents and clusters; deletes the work directory unless {@code keep}. */
  public void close(boolean keep, Function<Path, Boolean> deleter) {
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        AutoCloseable c = started.get(i);
        if (c instanceof LocalCluster cluster && keep) {
          cluster.stop();
        } else {
          c.close();
        }
      } catch (Exception e) {
        out.println("demo: cleanup: " + e.getMessage());
      }
    }
    if (!keep) {
      deleter.apply(work);
      if (createdMastodonUser) {
        removeUser("mastodon");
      }
    }
  }

  private void removeUser(String name) {
    try {
      Process p = new ProcessBuilder("userdel", name).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        out.println("demo: cleanup: userdel " + name + ": " + output.strip());
      }
    } catch (IOException e) {
      out.println("demo: cleanup: userdel " + name + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
