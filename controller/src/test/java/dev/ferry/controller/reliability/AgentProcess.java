package dev.ferry.controller.reliability;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real agent in a JVM of its own ({@code ferry-agent init}, then {@code run}) with a fixed heap
 * limit, so that a test can read what it really costs: the resident set of that process, from
 * {@code /proc/PID/status}, heap, metaspace, threads, direct buffers and all.
 */
final class AgentProcess implements AutoCloseable {
  /** The heap limit the agent runs with; the resident set bound in tests is set against it. */
  static final String MAX_HEAP = "-Xmx256m";
  private static final Pattern CODE = Pattern.compile("pairing code: (\\S+)");
  private static final Pattern RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");
  private final Path config;
  private final int port;
  private final Path log;
  private Process process;

  private AgentProcess(Path config, int port, Path log) {
    this.config = config;
    this.port = port;
    this.log = log;
  }

  /** Writes the config ({@code settings} on top of a loopback listener and a "none" layout). */
  static AgentProcess configure(Path dir, Map<String, String> settings) throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Files.createDirectories(dir);
    StringBuilder text = new StringBuilder();
    text.append("listen = 127.0.0.1:").append(port).append('\n');
    text.append("state_dir = ").append(dir.resolve("state")).append('\n');
    settings.forEach((key, value) -> text.append(key).append(" = ").append(value).append('\n'));
    Path config = dir.resolve("agent.conf");
    Files.writeString(config, text);
    return new AgentProcess(config, port, dir.resolve("agent.log"));
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

  boolean alive() {
    return process != null && process.isAlive();
  }

  /** The agent's resident set in bytes, from /proc/PID/status. */
  long residentBytes() throws IOException {
    Matcher m = RSS.matcher(Files.readString(Path.of("/proc", Long.toString(process.pid()), "status")));
    if (!m.find()) {
      throw new IOException("no VmRSS for " + process.pid());
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  private List<String> command(String subcommand) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return List.of(java, MAX_HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), "dev.ferry.agent.AgentMain", subcommand, "--config", config.toString());
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
