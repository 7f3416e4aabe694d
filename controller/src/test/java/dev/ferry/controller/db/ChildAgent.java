package dev.ferry.controller.db;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real agent in a JVM of its own ({@code ferry-agent init} then {@code run}), so a test can
 * kill it with SIGKILL mid-stream the way a crash or power cut would. Same state directory and
 * port across restarts, so its pairing survives.
 */
final class ChildAgent implements AutoCloseable {
  private static final Pattern CODE = Pattern.compile("pairing code: (\\S+)");
  private final Path config;
  private final int port;
  private final Path log;
  private Process process;

  private ChildAgent(Path config, int port, Path log) {
    this.config = config;
    this.port = port;
    this.log = log;
  }

  /** Writes the config; call {@link #init()} then {@link #start()}. */
  static ChildAgent configure(Path dir, Map<String, String> settings) throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Files.createDirectories(dir);
    StringBuilder text = new StringBuilder();
    text.append("listen = 127.0.0.1:").append(port).append('\n');
    text.append("state_dir = ").append(dir.resolve("state")).append('\n');
    text.append("layout = none\n");
    settings.forEach((key, value) -> text.append(key).append(" = ").append(value).append('\n'));
    Path config = dir.resolve("agent.conf");
    Files.writeString(config, text);
    return new ChildAgent(config, port, dir.resolve("agent.log"));
  }

  /** Rewrites one setting (for a restart with another pg.bindir). */
  void set(String key, String value) throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(config)) {
      if (!line.startsWith(key + " =")) {
        lines.add(line);
      }
    }
    lines.add(key + " = " + value);
    Files.write(config, lines);
  }

  /** {@code ferry-agent init}: the pairing code it prints. */
  String init() throws IOException, InterruptedException {
    Process init = new ProcessBuilder(command("init")).redirectErrorStream(true).start();
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
  void start() throws IOException, InterruptedException {
    process = new ProcessBuilder(command("run")).redirectErrorStream(true)
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
        Thread.sleep(200);
      }
    }
    throw new IOException("ferry-agent run did not start listening: " + Files.readString(log));
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  /** SIGKILL, like a crash: no shutdown hook runs. Returns the processes it had started. */
  List<ProcessHandle> kill() throws InterruptedException {
    List<ProcessHandle> children = process.descendants().toList();
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
    return children;
  }

  private List<String> command(String subcommand) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), "dev.ferry.agent.AgentMain", subcommand, "--config", config.toString());
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }
}
