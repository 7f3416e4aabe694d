package dev.ferry.controller.testing;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.Processes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real agent in a JVM of its own ({@code ferry-agent init} then {@code run}) with any layout,
 * so a test can kill it with SIGKILL at any moment, the way a crash or power cut would, and start
 * it again with the same state directory and port (its pairing survives), or read what it really
 * costs: its resident set from {@code /proc/PID/status}, heap, metaspace, threads and direct
 * buffers included.
 */
public final class ChildAgent implements AutoCloseable {
  /** The heap limit the agent runs with by default; memory bounds in tests are set against it. */
  public static final String MAX_HEAP = "-Xmx256m";

  private static final Pattern CODE = Pattern.compile("pairing code: (\\S+)");
  private static final Pattern RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");
  private final Path config;
  private final int port;
  private final Path log;
  private final AgentJvm jvm;
  private Process process;

  private ChildAgent(Path config, int port, Path log, AgentJvm jvm) {
    this.config = config;
    this.port = port;
    this.log = log;
    this.jvm = jvm;
  }

  /** Writes {@code dir/agent.conf} with a free loopback port; call {@link #init()} then {@link #start()}. */
  public static ChildAgent configure(Path dir, Map<ConfigKey, String> settings) throws IOException {
    return configure(dir, settings, AgentJvm.QUICK);
  }

  /** As {@link #configure(Path, Map)}, with the agent's JVM started as {@code jvm} says. */
  public static ChildAgent configure(Path dir, Map<ConfigKey, String> settings, AgentJvm jvm) throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Files.createDirectories(dir);
    StringBuilder text = new StringBuilder();
    text.append(ConfigKey.LISTEN.key()).append(" = 127.0.0.1:").append(port).append('\n');
    text.append(ConfigKey.STATE_DIR.key()).append(" = ").append(dir.resolve("state")).append('\n');
    settings.forEach((key, value) -> text.append(key.key()).append(" = ").append(value).append('\n'));
    Path config = dir.resolve("agent.conf");
    Files.writeString(config, text);
    return new ChildAgent(config, port, dir.resolve("agent.log"), jvm);
  }

  /** Rewrites one setting, for the next {@link #start()}. */
  public void set(ConfigKey key, String value) throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(config)) {
      if (!line.startsWith(key.key() + " =")) {
        lines.add(line);
      }
    }
    lines.add(key.key() + " = " + value);
    Files.write(config, lines);
  }

  /** {@code ferry-agent init}: the pairing code it prints. */
  public String init() throws IOException, InterruptedException {
    Process init = builder("init").redirectErrorStream(true).start();
    String out = new String(init.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!init.waitFor(60, TimeUnit.SECONDS) || init.exitValue() != 0) {
      throw new IOException("ferry-agent init failed: " + out);
    }
    Matcher m = CODE.matcher(out);
    if (!m.find()) {
      throw new IOException("no pairing code in: " + out);
    }
    return m.group(1);
  }

  /** {@code ferry-agent run}, waiting until it accepts connections. */
  public void start() throws IOException, InterruptedException {
    process = builder("run").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("ferry-agent run exited: " + Files.readString(log));
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IOException("ferry-agent run did not start listening: " + Files.readString(log));
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  public String address() {
    return "127.0.0.1:" + port;
  }

  public Path log() {
    return log;
  }

  /** The agent's resident set in bytes, from /proc/PID/status. */
  public long residentBytes() throws IOException {
    Matcher m = RSS.matcher(Files.readString(Path.of("/proc", Long.toString(process.pid()), "status")));
    if (!m.find()) {
      throw new IOException("no VmRSS for " + process.pid());
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  /** SIGSTOP: the agent stops reading its sockets, as a receiver that stalls would. */
  public void freeze() throws IOException {
    signal("-STOP");
  }

  /** SIGCONT, after {@link #freeze()}. */
  public void thaw() throws IOException {
    signal("-CONT");
  }

  private void signal(String signal) throws IOException {
    Processes.check(Duration.ofSeconds(10), "kill", signal, Long.toString(process.pid()));
  }

  /**
   * SIGKILL, like a crash: no shutdown hook runs. Its children (pg_dump, pg_restore) are killed
   * too, as systemd kills what is left in a crashed unit's control group.
   */
  public void kill() throws InterruptedException {
    List<ProcessHandle> children = killLeavingChildren();
    children.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle child : children) {
      child.onExit().completeOnTimeout(child, 30, TimeUnit.SECONDS).join();
    }
  }

  /**
   * SIGKILL to the agent alone, for tests that watch what its orphans (a pg_dump mid-stream) do
   * to the peer; returns them, for the test to kill when it is done watching.
   */
  public List<ProcessHandle> killLeavingChildren() throws InterruptedException {
    List<ProcessHandle> children = process.descendants().toList();
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
    return children;
  }

  private ProcessBuilder builder(String subcommand) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvm.options());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.ferry.agent.AgentMain", subcommand,
        "--config", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(jvm.environment());
    return builder;
  }

  @Override
  public void close() throws InterruptedException {
    if (alive()) {
      kill();
    }
  }
}
