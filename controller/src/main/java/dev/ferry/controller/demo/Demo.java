package dev.ferry.controller.demo;

import dev.ferry.agent.Agent;
import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.layout.LayoutResolver;
import dev.ferry.agent.state.AgentState;
import dev.ferry.controller.client.Pairing;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.PrintWriter;
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
  public static final String DOMAIN = DemoHosts.DOMAIN;

  private final Path work;
  private final PrintWriter out;

  public Demo(Path work, PrintWriter out) {
    this.work = work;
    this.out = out;
  }

  /** Everything the demo started, to stop in reverse order. */
  private final List<AutoCloseable> started = new ArrayList<>();

  private DemoHosts hosts;

  /**
   * Sets up both hosts, pairs them and returns the controller home, ready for {@code migrate}.
   * Call {@link #close()} afterwards.
   */
  public ControllerHome setUp(int accounts, int statuses) throws Exception {
    requireRoot();
    hosts = DemoHosts.create(work, accounts, statuses, this::say);
    started.add(hosts);
    Agent source = startAgent("source", hosts.sourceConfig());
    Agent target = startAgent("target", hosts.targetConfig());

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
    return hosts.verify();
  }

  private Agent startAgent(String name, Map<ConfigKey, String> layout) throws Exception {
    Map<ConfigKey, String> config = new EnumMap<>(ConfigKey.class);
    config.put(ConfigKey.LISTEN, "127.0.0.1:0");
    config.put(ConfigKey.STATE_DIR, work.resolve(name + "/agent-state").toString());
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
        // DemoHosts.close() stops the clusters and keeps their files; the deleter removes them.
        c.close();
      } catch (Exception e) {
        out.println("demo: cleanup: " + e.getMessage());
      }
    }
    if (!keep) {
      deleter.apply(work);
      // The demo leaves the machine's users as it found them (unless asked to keep its files).
      if (hosts != null && hosts.createdMastodonUser()) {
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
    } catch (java.io.IOException e) {
      out.println("demo: cleanup: userdel " + name + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
