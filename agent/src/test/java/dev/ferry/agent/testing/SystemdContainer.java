package dev.ferry.agent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * A real systemd booted with {@code systemd-nspawn} on a cached Debian bookworm root, inside a
 * network namespace of its own, for tests that need real units (design.md section 6). systemd is
 * NEVER booted on the host's own root: the container runs with {@code -x}, i.e. on a throwaway
 * copy of the cached root, so containers can share one root and nothing they do persists.
 *
 * <h2>Use</h2>
 *
 * <pre>{@code
 * try (SystemdContainer box = SystemdContainer.builder("svc").boot()) {
 *   box.installUnit("mastodon-web.service", "[Service]\nExecStart=/bin/sleep infinity\n");
 *   box.systemctl("start", "mastodon-web");            // nsenter -t PID -a systemctl ...
 *   box.exec(Duration.ofSeconds(10), "id", "mastodon");  // any command inside
 * }
 * }</pre>
 *
 * <h2>API</h2>
 *
 * <ul>
 *   <li>{@link #builder(String)} then, optionally: {@link Builder#root(Path)} (default {@link
 *       #cachedRoot()}), {@link Builder#network(NetNamespace)} (join a namespace the caller owns
 *       and links, e.g. to a controller namespace; by default the container gets a fresh namespace
 *       with loopback only, deleted on close), {@link Builder#bindReadOnly(Path, String)} and
 *       {@link Builder#bind(Path, String)} (files or directories, made visible before boot, e.g.
 *       unit files), {@link Builder#agentJar(Path)} (binds the shaded agent jar read-only at
 *       {@link #AGENT_JAR}), {@link Builder#bootTimeout(Duration)}; then {@link Builder#boot()},
 *       which returns once {@code systemctl is-system-running --wait} answers (running or
 *       degraded), or fails with the boot log.
 *   <li>{@link #exec(Duration, String...)} runs a command inside ({@code nsenter -t PID -a}, all
 *       namespaces of the container's systemd); {@link #check} fails on non-zero; {@link
 *       #systemctl(String...)} is {@code exec} of systemctl with a 60 s bound.
 *   <li>{@link #writeFile(String, String, String)} writes a file inside after boot, through
 *       {@code /proc/PID/root} ({@link #hostPath(String)}); {@link #installUnit(String, String)}
 *       writes {@code /etc/systemd/system/NAME} and reloads systemd; {@link #waitForUnit} polls a
 *       unit's ActiveState; {@link #journal(String)} returns a unit's journal for messages.
 *   <li>{@link #startAgent(String)} runs the bound agent jar under systemd as {@code
 *       ferry-agent.service} with the given {@code /etc/ferry/agent.conf} and waits until it is
 *       active; {@link #agentInit()} runs {@code ferry-agent init} inside and returns its output
 *       (fingerprint and pairing code). {@link #locateAgentJar()} finds {@code
 *       agent/target/ferry-agent-*-all.jar} (built by {@code mvn package}).
 *   <li>{@link #netns()} is the namespace; reach services in it with {@link NetNamespace#exec} or
 *       a veth link from another namespace ({@link NetNamespace#link}).
 *   <li>{@link #close()} sends SIGRTMIN+4 (systemd powers off), waits up to 30 s, then kills the
 *       container's PID 1 (which ends its whole PID namespace) and removes the namespace if it
 *       made it. A JVM shutdown hook closes containers a test forgot.
 * </ul>
 *
 * <p>Needs root, {@code systemd-nspawn} (package systemd-container) and {@code debootstrap};
 * {@code bin/test} installs them. The root is built once by {@code testing/bookworm-root.sh}
 * into {@code /var/cache/ferry-test} (override with {@code FERRY_TEST_CACHE}) and reused.
 */
public final class SystemdContainer implements AutoCloseable {
  /** Where {@link Builder#agentJar(Path)} puts the agent jar inside. */
  public static final String AGENT_JAR = "/opt/ferry/ferry-agent.jar";

  private static final Logger logger = Logger.getLogger(SystemdContainer.class.getName());
  private static final Duration STEP = Duration.ofSeconds(60);
  private static final Set<SystemdContainer> OPEN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.forEach(SystemdContainer::closeQuietly)));
  }

  private final String name;
  private final Process nspawn;
  private final long pid;
  private final NetNamespace netns;
  private final boolean ownsNetns;
  private final Path bootLog;
  private boolean closed;

  private SystemdContainer(String name, Process nspawn, long pid, NetNamespace netns, boolean ownsNetns, Path bootLog) {
    this.name = name;
    this.nspawn = nspawn;
    this.pid = pid;
    this.netns = netns;
    this.ownsNetns = ownsNetns;
    this.bootLog = bootLog;
  }

  public static Builder builder(String hint) {
    return new Builder(hint);
  }

  /** What to boot and with what; {@link #boot()} starts it. */
  public static final class Builder {
    private final String hint;
    private Path root;
    private NetNamespace network;
    private final List<String> binds = new ArrayList<>();
    private Duration bootTimeout = Duration.ofSeconds(120);

    private Builder(String hint) {
      this.hint = hint;
    }

    /** A root other than the cached bookworm one. It is never modified ({@code -x}). */
    public Builder root(Path root) {
      this.root = root;
      return this;
    }

    /** Boots in this namespace; the caller keeps owning (and closing) it. */
    public Builder network(NetNamespace network) {
      this.network = network;
      return this;
    }

    public Builder bindReadOnly(Path host, String inside) {
      binds.add("--bind-ro=" + host.toAbsolutePath() + ":" + inside);
      return this;
    }

    /** A writable bind: what the container writes there lands on the host. */
    public Builder bind(Path host, String inside) {
      binds.add("--bind=" + host.toAbsolutePath() + ":" + inside);
      return this;
    }

    public Builder agentJar(Path jar) {
      return bindReadOnly(jar, AGENT_JAR);
    }

    public Builder bootTimeout(Duration timeout) {
      this.bootTimeout = timeout;
      return this;
    }

    public SystemdContainer boot() throws IOException {
      Path rootDir = root != null ? root : cachedRoot();
      boolean ownsNetns = network == null;
      NetNamespace ns = ownsNetns ? NetNamespace.create(hint) : network;
      String machine = ns.name().replace("ferry-", "fc-");
      Path bootLog = Files.createTempFile("ferry-nspawn-" + machine + "-", ".log");
      List<String> argv =
          new ArrayList<>(
              List.of(
                  "systemd-nspawn", "-q", "-x", "-D", rootDir.toString(), "-M", machine, "-b",
                  "--register=no", "--keep-unit", "--link-journal=no", "--console=read-only",
                  "--network-namespace-path=" + ns.path(),
                  "--bind-ro=/usr/lib/jvm"));
      argv.addAll(binds);
      Process process;
      try {
        process =
            new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true)
                .redirectOutput(bootLog.toFile())
                .start();
      } catch (IOException e) {
        if (ownsNetns) {
          ns.close();
        }
        throw new IOException("cannot start systemd-nspawn (apt-get install systemd-container): " + e.getMessage(), e);
      }
      Instant deadline = Instant.now().plus(bootTimeout);
      long pid;
      try {
        pid = awaitInit(process, deadline, bootLog);
      } catch (IOException | RuntimeException e) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        if (ownsNetns) {
          ns.close();
        }
        throw e;
      }
      SystemdContainer container = new SystemdContainer(machine, process, pid, ns, ownsNetns, bootLog);
      OPEN.add(container);
      try {
        container.awaitBooted(deadline);
      } catch (IOException | RuntimeException e) {
        container.closeQuietly();
        throw e;
      }
      return container;
    }
  }

  /**
   * The cached Debian bookworm root, built on first use by {@code testing/bookworm-root.sh}
   * (which locks, so parallel JVMs wait for one build instead of racing).
   */
  public static Path cachedRoot() throws IOException {
    Path script = repoFile("testing/bookworm-root.sh");
    Processes.Result result = Processes.run(Duration.ofMinutes(25), List.of(script.toString()));
    if (!result.ok()) {
      throw new IOException("cannot build the bookworm test root: " + result.output());
    }
    String[] lines = result.stdout().strip().split("\n");
    return Path.of(lines[lines.length - 1].strip());
  }

  /** The shaded agent jar from {@code mvn package}, to bind into a container. */
  public static Path locateAgentJar() throws IOException {
    Path target = repoFile("agent/target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches("ferry-agent-.*-all\\.jar"))
          .findFirst()
          .orElseThrow(() -> new IOException("no agent/target/ferry-agent-*-all.jar: run mvn package first"));
    }
  }

  /** Finds a file of this repository from the working directory (module dir or repo root). */
  static Path repoFile(String relative) throws IOException {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(relative);
      if (Files.exists(candidate) && Files.exists(dir.resolve("testing/bookworm-root.sh"))) {
        return candidate;
      }
    }
    throw new IOException("cannot find " + relative + " above " + Path.of("").toAbsolutePath());
  }

  /** The container's systemd: a descendant of nspawn that is PID 1 in its own PID namespace. */
  private static long awaitInit(Process nspawn, Instant deadline, Path bootLog) throws IOException {
    while (Instant.now().isBefore(deadline)) {
      if (!nspawn.isAlive()) {
        throw new IOException("systemd-nspawn exited " + nspawn.exitValue() + ": " + tail(bootLog));
      }
      Optional<Long> init =
          nspawn.descendants().map(ProcessHandle::pid).filter(SystemdContainer::isNamespaceInit).findFirst();
      if (init.isPresent()) {
        return init.get();
      }
      sleep(100);
    }
    throw new IOException("the container's systemd did not appear in time: " + tail(bootLog));
  }

  private static boolean isNamespaceInit(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("NSpid:")) {
          String[] ids = line.substring(6).strip().split("\\s+");
          return ids.length > 1 && ids[ids.length - 1].equals("1");
        }
      }
    } catch (IOException e) {
      // It exited meanwhile.
    }
    return false;
  }

  private void awaitBooted(Instant deadline) throws IOException {
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      if (!nspawn.isAlive()) {
        throw new IOException("the container stopped while booting: " + tail(bootLog));
      }
      Duration left = Duration.between(Instant.now(), deadline);
      Processes.Result state = exec(left, "systemctl", "is-system-running", "--wait");
      last = state.stdout().strip();
      if (last.equals("running") || last.equals("degraded")) {
        if (last.equals("degraded")) {
          logger.info(name + " booted degraded: " + systemctl("--failed", "--no-legend", "--plain").stdout().strip());
        }
        return;
      }
      // The bus may not be up yet in the first instants; ask again.
      sleep(200);
    }
    throw new IOException("the container did not finish booting (last state '" + last + "'): " + tail(bootLog));
  }

  public String name() {
    return name;
  }

  /** The container's systemd as the host sees it. */
  public long pid() {
    return pid;
  }

  public NetNamespace netns() {
    return netns;
  }

  /** Fails with the console log if the container has stopped (or was never booted fully). */
  public void requireRunning() throws IOException {
    if (!nspawn.isAlive()) {
      throw new IOException("container " + name + " is not running (nspawn exited " + nspawn.exitValue() + "): " + tail(bootLog));
    }
  }

  /** The argv prefix that runs a command inside, for callers that start their own process. */
  public List<String> execPrefix() {
    return List.of("nsenter", "-t", Long.toString(pid), "-a");
  }

  public Processes.Result exec(Duration timeout, String... argv) throws IOException {
    requireRunning();
    List<String> full = new ArrayList<>(execPrefix());
    full.addAll(List.of(argv));
    return Processes.run(timeout, full);
  }

  public Processes.Result check(Duration timeout, String... argv) throws IOException {
    Processes.Result result = exec(timeout, argv);
    if (!result.ok()) {
      throw new IOException(
          String.join(" ", argv) + (result.exitCode() < 0 ? " timed out" : " exited " + result.exitCode())
              + " in " + name + ": " + result.output());
    }
    return result;
  }

  public Processes.Result systemctl(String... args) throws IOException {
    List<String> argv = new ArrayList<>(List.of("systemctl"));
    argv.addAll(List.of(args));
    return exec(STEP, argv.toArray(String[]::new));
  }

  /**
   * A path inside the container as the host reaches it ({@code /proc/PID/root/...}). Absolute
   * symlinks inside would resolve against the host's root, so use it for plain directories.
   */
  public Path hostPath(String inside) {
    return Path.of("/proc/" + pid + "/root", inside.startsWith("/") ? inside.substring(1) : inside);
  }

  /** Writes a file inside (parents created) with a mode like {@code rw-r--r--}. */
  public void writeFile(String inside, String content, String mode) throws IOException {
    Path path = hostPath(inside);
    Files.createDirectories(path.getParent());
    Files.writeString(path, content, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
  }

  /** Writes {@code /etc/systemd/system/UNIT} and runs {@code systemctl daemon-reload}. */
  public void installUnit(String unit, String content) throws IOException {
    writeFile("/etc/systemd/system/" + unit, content, "rw-r--r--");
    check(STEP, "systemctl", "daemon-reload");
  }

  /** Polls until the unit's ActiveState is {@code state}; false if the timeout passes first. */
  public boolean waitForUnit(String unit, String state, Duration timeout) throws IOException {
    Instant deadline = Instant.now().plus(timeout);
    do {
      Processes.Result result = exec(STEP, "systemctl", "show", "--property=ActiveState", "--value", "--", unit);
      if (result.stdout().strip().equals(state)) {
        return true;
      }
      sleep(100);
    } while (Instant.now().isBefore(deadline));
    return false;
  }

  /** The unit's journal (for failure messages). */
  public String journal(String unit) throws IOException {
    return exec(STEP, "journalctl", "--no-pager", "-n", "200", "-u", unit).output();
  }

  /**
   * Runs the agent jar bound with {@link Builder#agentJar(Path)} under systemd: writes {@code
   * /etc/ferry/agent.conf} and {@code ferry-agent.service}, starts it and waits until it is active
   * and listening is logged (up to 60 s).
   */
  public void startAgent(String agentConfig) throws IOException {
    writeFile("/etc/ferry/agent.conf", agentConfig, "rw-------");
    installUnit(
        "ferry-agent.service",
        String.join(
            "\n",
            "[Unit]",
            "Description=ferry agent (test)",
            "After=network.target",
            "[Service]",
            "ExecStart=/usr/bin/java -jar " + AGENT_JAR + " run --config /etc/ferry/agent.conf",
            "Restart=no",
            "[Install]",
            "WantedBy=multi-user.target",
            ""));
    check(STEP, "systemctl", "start", "ferry-agent.service");
    Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
    while (Instant.now().isBefore(deadline)) {
      String journal = journal("ferry-agent.service");
      if (journal.contains("serving on")) {
        return;
      }
      if (!waitForUnit("ferry-agent.service", "active", Duration.ZERO)) {
        throw new IOException("ferry-agent.service is not active in " + name + ": " + journal);
      }
      sleep(300);
    }
    throw new IOException("ferry-agent did not start serving in " + name + ": " + journal("ferry-agent.service"));
  }

  /** {@code ferry-agent init} inside: its output holds the fingerprint and a pairing code. */
  public String agentInit() throws IOException {
    return check(STEP, "/usr/bin/java", "-jar", AGENT_JAR, "init", "--config", "/etc/ferry/agent.conf").stdout();
  }

  /** Powers the container off (SIGRTMIN+4), bounded; then kills what is left; removes its namespace. */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    OPEN.remove(this);
    try {
      Processes.run(Duration.ofSeconds(10), List.of("kill", "-s", "RTMIN+4", Long.toString(pid)));
      if (!nspawn.waitFor(30, TimeUnit.SECONDS)) {
        logger.warning(name + " did not power off in 30 s; killing it");
        // Killing PID 1 of a PID namespace kills every process in it; nspawn then cleans up.
        Processes.run(Duration.ofSeconds(10), List.of("kill", "-s", "KILL", Long.toString(pid)));
        if (!nspawn.waitFor(15, TimeUnit.SECONDS)) {
          nspawn.destroyForcibly();
          nspawn.waitFor(10, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      nspawn.destroyForcibly();
    } finally {
      if (ownsNetns) {
        netns.close();
      }
      Files.deleteIfExists(bootLog);
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (IOException | RuntimeException e) {
      logger.warning("cannot clean up container " + name + ": " + e.getMessage());
    }
  }

  private static String tail(Path log) {
    try {
      String text = Files.readString(log, StandardCharsets.UTF_8);
      return text.length() <= 3000 ? text : "..." + text.substring(text.length() - 3000);
    } catch (IOException e) {
      return "(no boot log: " + e.getMessage() + ")";
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
