package dev.ferry.agent.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A network namespace the test creates ({@code ip netns add}), with loopback up and nothing
 * else until {@link #link} joins it to another one by a veth pair. Addresses live only inside
 * namespaces the test made, never in the host's own namespace (design.md section 6).
 *
 * <pre>{@code
 * try (NetNamespace controller = NetNamespace.create("ctl");
 *     NetNamespace source = NetNamespace.create("src")) {
 *   NetNamespace.link(controller, "10.213.0.1/30", source, "10.213.0.2/30");
 *   controller.exec(Duration.ofSeconds(5), "ping", "-c1", "10.213.0.2");
 * }
 * }</pre>
 *
 * <p>{@link #path()} ({@code /run/netns/NAME}) is what {@code systemd-nspawn
 * --network-namespace-path} takes. {@link #exec} runs a command inside ({@code ip netns exec}),
 * e.g. {@code bin/ferry} as a controller of its own. Names get a random suffix so parallel test
 * JVMs never collide. {@link #close()} deletes the namespace, which also removes its veth ends.
 */
public final class NetNamespace implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration IP_TIMEOUT = Duration.ofSeconds(20);
  private final String name;
  private final List<String> linksMade = new ArrayList<>();
  private boolean closed;

  private NetNamespace(String name) {
    this.name = name;
  }

  /** Creates {@code ferry-HINT-RANDOM} with loopback up. Needs root. */
  public static NetNamespace create(String hint) throws IOException {
    byte[] random = new byte[3];
    RANDOM.nextBytes(random);
    String clean = hint.replaceAll("[^A-Za-z0-9-]", "");
    String name = "ferry-" + clean.substring(0, Math.min(12, clean.length())) + "-" + HexFormat.of().formatHex(random);
    Processes.check(IP_TIMEOUT, "ip", "netns", "add", name);
    NetNamespace ns = new NetNamespace(name);
    try {
      Processes.check(IP_TIMEOUT, "ip", "-n", name, "link", "set", "lo", "up");
    } catch (IOException | RuntimeException e) {
      ns.close();
      throw e;
    }
    return ns;
  }

  /**
   * Joins two namespaces by a veth pair and gives each end its address (CIDR, e.g. {@code
   * 10.213.0.1/30}). The pair is created inside {@code a} and its peer moved into {@code b} at
   * once, so no end ever appears in the host's namespace.
   */
  public static void link(NetNamespace a, String addressA, NetNamespace b, String addressB) throws IOException {
    byte[] random = new byte[3];
    RANDOM.nextBytes(random);
    String id = HexFormat.of().formatHex(random);
    String endA = "fa" + id;
    String endB = "fb" + id;
    Processes.check(IP_TIMEOUT, "ip", "-n", a.name, "link", "add", endA, "type", "veth", "peer", "name", endB, "netns", b.name);
    a.linksMade.add(endA);
    Processes.check(IP_TIMEOUT, "ip", "-n", a.name, "addr", "add", addressA, "dev", endA);
    Processes.check(IP_TIMEOUT, "ip", "-n", b.name, "addr", "add", addressB, "dev", endB);
    Processes.check(IP_TIMEOUT, "ip", "-n", a.name, "link", "set", endA, "up");
    Processes.check(IP_TIMEOUT, "ip", "-n", b.name, "link", "set", endB, "up");
  }

  public String name() {
    return name;
  }

  /** {@code /run/netns/NAME}, for {@code systemd-nspawn --network-namespace-path}. */
  public Path path() {
    return Path.of("/run/netns", name);
  }

  /** Runs {@code argv} inside the namespace ({@code ip netns exec}), bounded by {@code timeout}. */
  public Processes.Result exec(Duration timeout, String... argv) throws IOException {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
    full.addAll(List.of(argv));
    return Processes.run(timeout, full);
  }

  /** The argv prefix that runs a command inside the namespace, for callers that start their own. */
  public List<String> execPrefix() {
    return List.of("ip", "netns", "exec", name);
  }

  /** Deletes the namespace (and with it every veth end inside). Safe to call twice. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    // Deleting a veth end deletes its peer too; then the namespace goes.
    for (String link : linksMade) {
      Processes.run(IP_TIMEOUT, List.of("ip", "-n", name, "link", "del", link));
    }
    if (Files.exists(path())) {
      Processes.check(IP_TIMEOUT, "ip", "netns", "del", name);
    }
  }
}
