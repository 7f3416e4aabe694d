package dev.ferry.controller.demo;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.common.localpg.LocalCluster;
import dev.ferry.controller.format.Sizes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The two hosts of the demo, without their agents: an Ubuntu-shaped source (a real PostgreSQL
 * cluster with a Mastodon-shaped database, a media tree, a .env.production) and an empty
 * NixOS-shaped target (its own cluster, with a seeded database to be set aside). {@link Demo}
 * runs the agents in-process; the fault tests and the benchmark run them as processes of their own
 * from {@link #sourceConfig()} and {@link #targetConfig()}.
 */
public final class DemoHosts implements AutoCloseable {
  public static final String DOMAIN = "demo.ferry.test";
  public static final String SOURCE_DB = "mastodon_production";
  public static final String TARGET_DB = "mastodon";

  private final Path work;
  private final LocalCluster sourcePg;
  private final LocalCluster targetPg;
  private final Path live;
  private final Path nixos;
  private final long[] media;
  private boolean createdMastodonUser;

  private DemoHosts(Path work, LocalCluster sourcePg, LocalCluster targetPg, Path live, Path nixos, long[] media) {
    this.work = work;
    this.sourcePg = sourcePg;
    this.targetPg = targetPg;
    this.live = live;
    this.nixos = nixos;
    this.media = media;
  }

  /** Generates both hosts under {@code work}. Needs root. Stop them with {@link #close()}. */
  public static DemoHosts create(Path work, int accounts, int statuses, Consumer<String> say) throws Exception {
    Files.createDirectories(work);
    // postgres and mastodon must reach their trees below it (a temp dir starts as 0700).
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    requireReachable(work);
    boolean createdUser = LocalCluster.ensureOsUser("mastodon");
    SampleInstance sample = new SampleInstance(accounts, statuses, 42);

    say.accept("source (ubuntu layout): PostgreSQL cluster, mastodon_production, media, .env.production");
    LocalCluster sourcePg = LocalCluster.start("source", work);
    LocalCluster targetPg = null;
    try {
      sourcePg.createRole("mastodon");
      sourcePg.createDatabase(SOURCE_DB, "mastodon");
      sourcePg.psqlAs("mastodon", SOURCE_DB, sample.sql());
      Path live = work.resolve("source/home/mastodon/live");
      long[] media = sample.writeMedia(live.resolve("public/system"));
      Files.writeString(live.resolve(".env.production"), sample.envProduction(DOMAIN, SOURCE_DB, sourcePg.socketDir()));
      Files.createDirectories(live.resolve("lib/mastodon"));
      Files.writeString(live.resolve("lib/mastodon/version.rb"), SampleInstance.versionRb(4, 3, 2));
      chown(work.resolve("source/home/mastodon"));
      say.accept(String.format(Locale.ROOT, "  %d media files, %s; %d accounts, %d statuses", media[0],
          Sizes.bytes(media[1]), accounts, statuses));

      say.accept("target (nixos layout): its own cluster, an already-seeded 'mastodon' database, empty media");
      targetPg = LocalCluster.start("target", work);
      targetPg.createRole("mastodon");
      Path nixos = work.resolve("target/var/lib/mastodon");
      DemoHosts hosts = new DemoHosts(work, sourcePg, targetPg, live, nixos, media);
      hosts.createdMastodonUser = createdUser;
      hosts.resetTarget();
      Files.createDirectories(nixos.resolve("lib/mastodon"));
      Files.writeString(nixos.resolve("lib/mastodon/version.rb"), SampleInstance.versionRb(4, 3, 2));
      chown(nixos);
      return hosts;
    } catch (Exception e) {
      if (targetPg != null) {
        targetPg.stop();
      }
      sourcePg.stop();
      throw e;
    }
  }

  /** Whether {@link #create} had to add the mastodon system user (so the demo may remove it). */
  public boolean createdMastodonUser() {
    return createdMastodonUser;
  }

  /**
   * Puts the target back as a fresh NixOS host leaves it: only the seeded 'mastodon' database
   * (every other database but the cluster's own is dropped), an empty public-system, no secrets.
   * For tests that run many migrations on one pair of hosts.
   */
  public void resetTarget() throws Exception {
    String others = targetPg.psql("postgres",
        "SELECT string_agg(quote_ident(datname), ' ') FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')");
    for (String db : others.isEmpty() ? new String[0] : others.split(" ")) {
      targetPg.psql("postgres", "DROP DATABASE " + db + " WITH (FORCE);");
    }
    targetPg.createDatabase(TARGET_DB, "mastodon");
    // What NixOS's mastodon-init-db leaves behind if Mastodon ever started: ferry sets it aside.
    targetPg.psqlAs("mastodon", TARGET_DB, "CREATE TABLE schema_migrations (version varchar PRIMARY KEY);");
    for (String dir : new String[] {"public-system", "secrets"}) {
      Path path = nixos.resolve(dir);
      if (Files.exists(path)) {
        // Empties the directory but keeps it: it may be a mount point.
        try (var children = Files.list(path)) {
          for (Path child : (Iterable<Path>) children::iterator) {
            run("rm", "-rf", "--one-file-system", child.toString());
          }
        }
      }
      Files.createDirectories(path);
    }
    // As mastodon-init-dirs leaves it on NixOS.
    Files.setPosixFilePermissions(nixos.resolve("public-system"), PosixFilePermissions.fromString("rwxr-x---"));
    chown(nixos.resolve("public-system"));
    chown(nixos.resolve("secrets"));
  }

  /** The source agent's settings, apart from where it listens and keeps its state. */
  public Map<ConfigKey, String> sourceConfig() {
    Map<ConfigKey, String> config = new EnumMap<>(ConfigKey.class);
    config.put(ConfigKey.LAYOUT, "ubuntu");
    config.put(ConfigKey.MASTODON_ROOT, live.toString());
    config.put(ConfigKey.DB_HOST, sourcePg.socketDir().toString());
    config.put(ConfigKey.PG_BINDIR, sourcePg.bindir().toString());
    // No units: the demo must never touch this machine's services.
    config.put(ConfigKey.UNITS, "");
    return config;
  }

  /** The target agent's settings, apart from where it listens and keeps its state. */
  public Map<ConfigKey, String> targetConfig() {
    Map<ConfigKey, String> config = new EnumMap<>(ConfigKey.class);
    config.put(ConfigKey.LAYOUT, "nixos");
    // On NixOS the domain comes from services.mastodon via systemd; the demo has no systemd.
    config.put(ConfigKey.MASTODON_LOCAL_DOMAIN, DOMAIN);
    config.put(ConfigKey.MASTODON_ROOT, nixos.toString());
    config.put(ConfigKey.DB_HOST, targetPg.socketDir().toString());
    config.put(ConfigKey.PG_BINDIR, targetPg.bindir().toString());
    config.put(ConfigKey.UNITS, "");
    return config;
  }

  public Path work() {
    return work;
  }

  public LocalCluster sourcePg() {
    return sourcePg;
  }

  public LocalCluster targetPg() {
    return targetPg;
  }

  public Path sourceMedia() {
    return live.resolve("public/system");
  }

  public Path targetMedia() {
    return nixos.resolve("public-system");
  }

  public Path targetSecrets() {
    return nixos.resolve("secrets");
  }

  /** Files and bytes of the generated media tree. */
  public long[] mediaSize() {
    return media.clone();
  }

  /**
   * Checks the result independently of ferry: rows and sequences, media bytes, owners and modes,
   * secrets (the NixOS file of each .env.production key), and the set-aside old database.
   */
  public DemoCheck.Result verify() throws Exception {
    Map<String, String> env = dev.ferry.agent.settings.EnvFile.read(live.resolve(".env.production"));
    Map<String, String> secrets = new TreeMap<>();
    for (var entry : env.entrySet()) {
      String key = entry.getKey();
      if (key.equals("SECRET_KEY_BASE") || key.equals("OTP_SECRET") || key.startsWith("VAPID_")
          || key.startsWith("ACTIVE_RECORD_ENCRYPTION_")) {
        secrets.put(key.toLowerCase(Locale.ROOT).replace('_', '-'), entry.getValue());
      }
    }
    return DemoCheck.check(sourcePg, SOURCE_DB, targetPg, TARGET_DB, sourceMedia(), targetMedia(), secrets, targetSecrets());
  }

  /** Stops both clusters, keeping their files. */
  @Override
  public void close() throws IOException, InterruptedException {
    try {
      targetPg.stop();
    } finally {
      sourcePg.stop();
    }
  }

  /** Fails early, and clearly, where initdb would fail later with "Permission denied". */
  private static void requireReachable(Path dir) throws IOException {
    for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
      if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        throw new IOException("the users postgres and mastodon cannot reach " + dir + " because " + p
            + " is not searchable by others (mode " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p))
            + "); choose a --dir elsewhere, for example under /tmp");
      }
    }
  }

  private static void chown(Path dir) throws IOException, InterruptedException {
    run("chown", "-R", "mastodon:mastodon", dir.toString());
  }

  private static void run(String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", argv) + " failed");
    }
  }
}
