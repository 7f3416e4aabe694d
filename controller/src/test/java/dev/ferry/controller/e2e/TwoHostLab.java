package dev.ferry.controller.e2e;

import dev.ferry.agent.testing.NetNamespace;
import dev.ferry.agent.testing.Processes;
import dev.ferry.agent.testing.SystemdContainer;
import dev.ferry.controller.demo.SampleInstance;
import dev.ferry.controller.testing.RepoRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Two real systemd hosts and a controller, each in a network namespace of its own, joined by a
 * bridge that lives inside the controller's namespace (the host's own namespace never sees these
 * addresses): "ubuntu" (the standard layout, the source) and "nixos" (the NixOS module's layout,
 * the target), each with PostgreSQL, stand-in Mastodon units and ferry-agent running under
 * systemd with the unit file from systemd/.
 */
final class TwoHostLab implements AutoCloseable {
  static final String DOMAIN = "e2e.ferry.test";
  static final String UBUNTU_IP = "10.77.0.2";
  static final String NIXOS_IP = "10.77.0.3";
  private static final Duration STEP = Duration.ofMinutes(2);

  final NetNamespace controllerNs;
  final SystemdContainer ubuntu;
  final SystemdContainer nixos;
  final Path ferryHome;
  private final Path repo;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  private TwoHostLab(NetNamespace controllerNs, SystemdContainer ubuntu, SystemdContainer nixos, Path ferryHome, Path repo) {
    this.controllerNs = controllerNs;
    this.ubuntu = ubuntu;
    this.nixos = nixos;
    this.ferryHome = ferryHome;
    this.repo = repo;
  }

  static TwoHostLab start(Path dir) throws Exception {
    Path repo = RepoRoot.find();
    NetNamespace ctl = NetNamespace.create("ctl");
    List<AutoCloseable> opened = new ArrayList<>(List.of(ctl));
    try {
      ctl.exec(STEP, "ip", "link", "add", "br0", "type", "bridge");
      ctl.exec(STEP, "ip", "addr", "add", "10.77.0.1/24", "dev", "br0");
      ctl.exec(STEP, "ip", "link", "set", "br0", "up");
      NetNamespace ubuntuNs = NetNamespace.create("ubuntu");
      opened.add(ubuntuNs);
      NetNamespace nixosNs = NetNamespace.create("nixos");
      opened.add(nixosNs);
      plug(ctl, ubuntuNs, "vu", UBUNTU_IP);
      plug(ctl, nixosNs, "vn", NIXOS_IP);
      Path agentJar = SystemdContainer.locateAgentJar();
      SystemdContainer ubuntu = SystemdContainer.builder("ubuntu").network(ubuntuNs).agentJar(agentJar).boot();
      opened.add(ubuntu);
      SystemdContainer nixos = SystemdContainer.builder("nixos").network(nixosNs).agentJar(agentJar).boot();
      opened.add(nixos);
      TwoHostLab lab = new TwoHostLab(ctl, ubuntu, nixos, dir.resolve("ferry-home"), repo);
      lab.toClose.addAll(opened);
      lab.setUpUbuntu();
      lab.setUpNixos();
      lab.pair("ubuntu", ubuntu, UBUNTU_IP);
      lab.pair("nixos", nixos, NIXOS_IP);
      return lab;
    } catch (Exception | Error e) {
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception ignored) {
          // Cleaning up after the real failure.
        }
      }
      throw e;
    }
  }

  /** A veth from the controller's bridge into {@code ns}, named eth0 there. */
  private static void plug(NetNamespace ctl, NetNamespace ns, String name, String ip) throws IOException {
    String end = name + Long.toHexString(System.nanoTime() & 0xffff);
    check(ctl.exec(STEP, "ip", "link", "add", end, "type", "veth", "peer", "name", "eth0", "netns", ns.name()));
    check(ctl.exec(STEP, "ip", "link", "set", end, "master", "br0", "up"));
    check(ns.exec(STEP, "ip", "addr", "add", ip + "/24", "dev", "eth0"));
    check(ns.exec(STEP, "ip", "link", "set", "eth0", "up"));
  }

  private static void check(Processes.Result result) throws IOException {
    if (!result.ok()) {
      throw new IOException(result.output());
    }
  }

  private void common(SystemdContainer box) throws IOException {
    box.check(STEP, "useradd", "--system", "--user-group", "--create-home", "--home-dir", "/home/mastodon",
        "--shell", "/bin/sh", "mastodon");
    // The minbase root has the server package but no cluster yet: make Debian's usual 15/main.
    box.check(STEP, "pg_createcluster", "15", "main");
    box.check(STEP, "systemctl", "start", "postgresql@15-main.service");
    if (!box.waitForUnit("postgresql@15-main.service", "active", Duration.ofSeconds(60))) {
      throw new IOException("PostgreSQL did not start: " + box.journal("postgresql@15-main.service"));
    }
    box.check(STEP, "runuser", "-u", "postgres", "--", "psql", "-q", "-c", "CREATE ROLE mastodon LOGIN");
    for (String file : List.of("MastodonWebStandin.java", "tootctl")) {
      box.writeFile("/opt/standins/" + file, Files.readString(repo.resolve("testing/e2e/standins/" + file)), "rwxr-xr-x");
    }
  }

  private void installUnits(SystemdContainer box, String layout) throws IOException {
    try (var files = Files.list(repo.resolve("testing/e2e/" + layout))) {
      for (Path file : files.toList()) {
        String name = file.getFileName().toString();
        String inside = name.endsWith(".service") ? "/etc/systemd/system/" + name : "/opt/standins/" + name;
        box.writeFile(inside, Files.readString(file), name.endsWith(".sh") ? "rwxr-xr-x" : "rw-r--r--");
      }
    }
    box.check(STEP, "systemctl", "daemon-reload");
  }

  private void setUpUbuntu() throws Exception {
    common(ubuntu);
    SampleInstance sample = new SampleInstance(120, 2000, 7);
    ubuntu.check(STEP, "runuser", "-u", "postgres", "--", "createdb", "-O", "mastodon", "-T", "template0", "mastodon_production");
    psql(ubuntu, "mastodon", "mastodon_production", sample.sql());
    Path live = ubuntu.hostPath("/home/mastodon/live");
    sample.writeMedia(live.resolve("public/system"));
    Files.writeString(live.resolve(".env.production"), sample.envProduction(DOMAIN, "mastodon_production", Path.of("/var/run/postgresql")));
    Files.createDirectories(live.resolve("lib/mastodon"));
    Files.writeString(live.resolve("lib/mastodon/version.rb"), SampleInstance.versionRb(4, 3, 2));
    Files.createDirectories(live.resolve("bin"));
    Files.copy(repo.resolve("testing/e2e/standins/tootctl"), live.resolve("bin/tootctl"));
    ubuntu.check(STEP, "chmod", "0755", "/home/mastodon/live/bin/tootctl");
    ubuntu.check(STEP, "chown", "-R", "mastodon:mastodon", "/home/mastodon");
    installUnits(ubuntu, "ubuntu");
    ubuntu.check(STEP, "systemctl", "enable", "--now", "mastodon-web", "mastodon-sidekiq", "mastodon-streaming");
    startAgent(ubuntu, UBUNTU_IP, "layout = ubuntu\nweb.url = http://127.0.0.1:3000\n");
  }

  private void setUpNixos() throws Exception {
    common(nixos);
    nixos.check(STEP, "runuser", "-u", "postgres", "--", "createdb", "-O", "mastodon", "-T", "template0", "mastodon");
    nixos.check(STEP, "install", "-d", "-o", "mastodon", "-g", "mastodon", "-m", "0750",
        "/var/lib/mastodon", "/var/lib/mastodon/public-system", "/var/lib/mastodon/secrets");
    // The NixOS module points tootctl at mastodon-tootctl on the PATH.
    nixos.writeFile("/usr/local/bin/mastodon-tootctl", Files.readString(repo.resolve("testing/e2e/standins/tootctl")), "rwxr-xr-x");
    installUnits(nixos, "nixos");
    // As on a real NixOS host that booted once before the migration: init-dirs generated fresh
    // secrets and init-db seeded an empty schema. ferry must replace both, losing neither.
    nixos.check(STEP, "systemctl", "start", "mastodon-web", "mastodon-sidekiq-all", "mastodon-streaming-1");
    psql(nixos, "mastodon", "mastodon", "CREATE TABLE schema_migrations (version varchar PRIMARY KEY);"
        + "INSERT INTO schema_migrations VALUES ('20240101000000');");
    startAgent(nixos, NIXOS_IP, "layout = nixos\nweb.url = http://127.0.0.1:55001\n"
        + "units = mastodon-init-dirs, mastodon-web, mastodon-sidekiq-all, mastodon-streaming-1\n");
  }

  /** Installs the agent like the package does: launcher, jar, the unit file from systemd/. */
  private void startAgent(SystemdContainer box, String ip, String layoutConfig) throws IOException {
    box.writeFile("/etc/ferry/agent.conf", "listen = " + ip + ":7443\nstate_dir = /var/lib/ferry\n" + layoutConfig, "rw-------");
    Path unit = repo.resolve("systemd/ferry-agent.service");
    if (Files.exists(unit)) {
      box.writeFile("/usr/bin/ferry-launch.sh", Files.readString(repo.resolve("bin/ferry-launch.sh")), "rwxr-xr-x");
      box.writeFile("/usr/bin/ferry-agent", Files.readString(repo.resolve("bin/ferry-agent")), "rwxr-xr-x");
      box.check(STEP, "install", "-d", "/usr/share/ferry");
      box.check(STEP, "ln", "-sf", SystemdContainer.AGENT_JAR, "/usr/share/ferry/ferry-agent.jar");
      box.installUnit("ferry-agent.service", Files.readString(unit));
      box.check(STEP, "systemctl", "start", "ferry-agent.service");
      if (!box.waitForUnit("ferry-agent.service", "active", Duration.ofSeconds(60))) {
        throw new IOException("ferry-agent.service did not start: " + box.journal("ferry-agent.service"));
      }
    } else {
      box.startAgent(Files.readString(box.hostPath("/etc/ferry/agent.conf")));
    }
  }

  private void pair(String name, SystemdContainer box, String ip) throws Exception {
    String init = box.check(STEP, "/usr/bin/java", "-jar", SystemdContainer.AGENT_JAR, "init", "--config", "/etc/ferry/agent.conf").stdout();
    String code = init.lines().filter(l -> l.startsWith("pairing code:")).findFirst().orElseThrow().split("\\s+")[2];
    Ferry result = ferry("pair", name, ip + ":7443", "--code", code);
    // The agent may still be binding its port right after start: retry briefly.
    for (int i = 0; i < 20 && result.exitCode() != 0 && result.err().contains("cannot reach"); i++) {
      Thread.sleep(500);
      result = ferry("pair", name, ip + ":7443", "--code", code);
    }
    if (result.exitCode() != 0) {
      throw new IOException("pairing " + name + " failed: " + result.err() + "\n" + box.journal("ferry-agent.service"));
    }
  }

  /**
   * Pulls the cable of the "ubuntu" host for {@code duration}: its veth end on the controller's
   * bridge goes down (the host sees no carrier, its addresses stay), then comes back up.
   */
  void cutUbuntuLink(Duration duration) throws IOException, InterruptedException {
    cutLink("ubuntu", duration);
  }

  /** Pulls the cable of {@code host} ("ubuntu" or "nixos") for {@code duration}, as above. */
  void cutLink(String host, Duration duration) throws IOException, InterruptedException {
    String prefix = switch (host) {
      case "ubuntu" -> "vu";
      case "nixos" -> "vn";
      default -> throw new IllegalArgumentException("no host " + host);
    };
    String links = controllerNs.exec(STEP, "ip", "-o", "link", "show", "master", "br0").stdout();
    String end = links.lines().map(l -> l.split(":\\s+")[1].split("@")[0]).filter(n -> n.startsWith(prefix))
        .findFirst().orElseThrow(() -> new IOException("no " + host + " veth on br0: " + links));
    check(controllerNs.exec(STEP, "ip", "link", "set", end, "down"));
    try {
      Thread.sleep(duration.toMillis());
    } finally {
      check(controllerNs.exec(STEP, "ip", "link", "set", end, "up"));
    }
  }

  /** The NixOS module's default port for Mastodon's Redis ({@code services.mastodon.redis.port}). */
  static final int NIXOS_REDIS_PORT = 31637;
  /** Where a scratch Redis answers while it reads a dump file for a check ({@link #redisDumpData}). */
  private static final int SCRATCH_REDIS_PORT = 6399;

  /**
   * Redis on both hosts where their layouts look for it, for tests that move the dump (not part of
   * {@link #start}, which leaves Redis as the root has it): Debian's own {@code redis-server} on
   * "ubuntu" ({@code /var/lib/redis}, user redis, port 6379) and, on "nixos", a {@code
   * redis-mastodon} unit shaped like the NixOS module's (user redis-mastodon, {@code
   * /var/lib/redis-mastodon}, port {@link #NIXOS_REDIS_PORT}) in place of Debian's. Both end
   * running and answering.
   */
  void setUpRedis() throws IOException {
    setUpRedis(0);
  }

  /**
   * As {@link #setUpRedis()}; with {@code dumpTmpfsMiB > 0} the target's {@code
   * /var/lib/redis-mastodon} is a tmpfs of that size, for tests that fill it ({@link
   * #resizeTargetRedisDisk}).
   */
  void setUpRedis(int dumpTmpfsMiB) throws IOException {
    if (!ubuntu.waitForUnit("redis-server.service", "active", Duration.ofSeconds(30))) {
      throw new IOException("redis-server did not run: " + ubuntu.journal("redis-server.service"));
    }
    awaitRedis(ubuntu, 6379);
    nixos.check(STEP, "systemctl", "disable", "--now", "redis-server.service");
    nixos.check(STEP, "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/redis-mastodon",
        "--shell", "/usr/sbin/nologin", "redis-mastodon");
    nixos.check(STEP, "install", "-d", "-o", "redis-mastodon", "-g", "redis-mastodon", "-m", "0700", "/var/lib/redis-mastodon");
    if (dumpTmpfsMiB > 0) {
      String uid = nixos.check(STEP, "id", "-u", "redis-mastodon").stdout().strip();
      nixos.check(STEP, "mount", "-t", "tmpfs", "-o", "size=" + dumpTmpfsMiB + "m,mode=0700,uid=" + uid + ",gid=" + uid,
          "ferry-e2e-redis", "/var/lib/redis-mastodon");
    }
    nixos.installUnit("redis-mastodon.service", String.join("\n",
        "[Unit]",
        "Description=Redis for Mastodon (shaped like the NixOS module's redis-mastodon)",
        "After=network.target",
        "[Service]",
        "User=redis-mastodon",
        "Group=redis-mastodon",
        "ExecStart=/usr/bin/redis-server --port " + NIXOS_REDIS_PORT + " --bind 127.0.0.1 --dir /var/lib/redis-mastodon"
            + " --dbfilename dump.rdb --daemonize no",
        ""));
    nixos.check(STEP, "systemctl", "start", "redis-mastodon.service");
    awaitRedis(nixos, NIXOS_REDIS_PORT);
  }

  /** Grows or shrinks the target's Redis tmpfs (from {@link #setUpRedis(int)}) to {@code kib} KiB. */
  void resizeTargetRedisDisk(int kib) throws IOException {
    nixos.check(STEP, "mount", "-o", "remount,size=" + kib + "k", "/var/lib/redis-mastodon");
  }

  /**
   * Every key in the Redis on {@code port} with the SHA-256 of its value (the tests store
   * strings only), as "key sha256" lines in key order.
   */
  static String redisData(SystemdContainer box, int port) throws IOException {
    awaitRedis(box, port);
    return box.check(STEP, "sh", "-c", listKeys(port)).stdout().strip();
  }

  /** The shell loop behind {@link #redisData}: "key sha256" per key of the Redis on {@code port}. */
  private static String listKeys(int port) {
    return "for k in $(redis-cli -p " + port + " --scan | sort); do printf '%s ' \"$k\";"
        + " redis-cli -p " + port + " --raw GET \"$k\" | sha256sum | cut -d' ' -f1; done";
  }

  /**
   * {@link #redisData} of a dump file, as a Redis would load it: a scratch redis-server (port
   * {@value #SCRATCH_REDIS_PORT}, saving nothing) reads a copy, answers, and is shut down.
   */
  static String redisDumpData(SystemdContainer box, String dump) throws IOException {
    String script = String.join("\n",
        "set -e",
        "d=$(mktemp -d)",
        // Redis removes its pidfile as it exits: wait for that, so the next check can bind its port.
        "trap 'redis-cli -p " + SCRATCH_REDIS_PORT + " SHUTDOWN NOSAVE >/dev/null 2>&1 || true;"
            + " for j in $(seq 50); do [ -e \"$d/pid\" ] || break; sleep 0.1; done; rm -rf \"$d\"' EXIT",
        "cp '" + dump + "' \"$d/dump.rdb\"",
        "redis-server --port " + SCRATCH_REDIS_PORT + " --bind 127.0.0.1 --dir \"$d\" --dbfilename dump.rdb --save '' --appendonly no"
            + " --daemonize yes --logfile \"$d/log\" --pidfile \"$d/pid\"",
        "i=0",
        "until [ \"$(redis-cli -p " + SCRATCH_REDIS_PORT + " PING 2>/dev/null)\" = PONG ]; do",
        "  i=$((i+1)); [ $i -lt 300 ] || { cat \"$d/log\" >&2; exit 1; }; sleep 0.1",
        "done",
        listKeys(SCRATCH_REDIS_PORT),
        "");
    return box.check(STEP, "sh", "-c", script).stdout().strip();
  }

  /** {@code redis-cli -p PORT ARGS...} inside {@code box}; its output, stripped. */
  static String redisCli(SystemdContainer box, int port, String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of("redis-cli", "-p", Integer.toString(port)));
    argv.addAll(List.of(args));
    return box.check(STEP, argv.toArray(String[]::new)).stdout().strip();
  }

  /** Waits (up to 30 s) until the Redis on {@code port} answers PING, i.e. has loaded its dump. */
  static void awaitRedis(SystemdContainer box, int port) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    while (System.nanoTime() < deadline) {
      Processes.Result ping = box.exec(STEP, "redis-cli", "-p", Integer.toString(port), "PING");
      last = ping.output();
      if (ping.ok() && ping.stdout().strip().equals("PONG")) {
        return;
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }
    throw new IOException("Redis on port " + port + " in " + box.name() + " did not answer: " + last);
  }

  static void psql(SystemdContainer box, String user, String db, String sql) throws IOException {
    Path file = box.hostPath("/tmp/ferry-e2e.sql");
    Files.writeString(file, sql);
    box.check(STEP, "chmod", "0644", "/tmp/ferry-e2e.sql");
    box.check(STEP, "runuser", "-u", user, "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "/tmp/ferry-e2e.sql");
  }

  static String query(SystemdContainer box, String db, String sql) throws IOException {
    return box.check(STEP, "runuser", "-u", "postgres", "--", "psql", "-X", "-A", "-t", "-d", db, "-c", sql).stdout().strip();
  }

  /** What one controller command printed. */
  record Ferry(int exitCode, String out, String err) {}

  /** Runs the real controller in its own network namespace, as a separate process. */
  Ferry ferry(String... args) throws Exception {
    return ferry(Duration.ofMinutes(10), args);
  }

  Ferry ferry(Duration timeout, String... args) throws Exception {
    Process process = startFerry(args);
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new IOException("ferry " + String.join(" ", args) + " timed out");
    }
    return new Ferry(process.exitValue(),
        Files.readString(ferryHome.resolveSibling("out.txt")), Files.readString(ferryHome.resolveSibling("err.txt")));
  }

  /** Starts the controller without waiting (for tests that interrupt it). */
  Process startFerry(String... args) throws IOException {
    List<String> argv = new ArrayList<>(controllerNs.execPrefix());
    argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.ferry.controller.FerryCli"));
    argv.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(argv)
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .redirectOutput(ferryHome.resolveSibling("out.txt").toFile())
        .redirectError(ferryHome.resolveSibling("err.txt").toFile());
    builder.environment().put("FERRY_HOME", ferryHome.toString());
    return builder.start();
  }

  @Override
  public void close() {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      try {
        toClose.get(i).close();
      } catch (Exception e) {
        System.err.println("cleanup: " + e.getMessage());
      }
    }
  }

  static Map<String, String> env(Path file) throws IOException {
    return dev.ferry.agent.settings.EnvFile.read(file);
  }
}
