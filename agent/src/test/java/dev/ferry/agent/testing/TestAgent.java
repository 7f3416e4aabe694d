package dev.ferry.agent.testing;

import dev.ferry.agent.Agent;
import dev.ferry.agent.config.AgentConfig;
import dev.ferry.agent.config.ConfigException;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.disk.HardlinkProtection;
import dev.ferry.agent.layout.LayoutResolver;
import dev.ferry.agent.state.AgentState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.EnumMap;
import java.util.Map;

/**
 * A real agent on 127.0.0.1 with an OS-assigned port, real TLS and its own state directory, for
 * integration tests. Config keys default to a "none" layout; pass overrides for real layouts.
 */
public final class TestAgent implements AutoCloseable {
  private final Agent agent;
  private final AgentState state;
  private final AgentConfig config;

  private TestAgent(Agent agent, AgentState state, AgentConfig config) {
    this.agent = agent;
    this.state = state;
    this.config = config;
  }

  /**
   * Hard-link protection reads as on (the default of every supported distribution) from a file of
   * the agent's own, so a test of something else does not depend on the sysctl of the machine it
   * runs on; agents started as processes (ChildAgent, the demo) read the kernel's.
   */
  public static TestAgent start(Path dir, Map<ConfigKey, String> overrides) throws IOException, ConfigException {
    Files.createDirectories(dir);
    Path on = Files.writeString(dir.resolve("protected_hardlinks"), "1\n");
    return start(dir, overrides, new HardlinkProtection(on, "this host"));
  }

  /** As {@link #start(Path, Map)}, reading fs.protected_hardlinks from {@code links} instead of the kernel. */
  public static TestAgent start(Path dir, Map<ConfigKey, String> overrides, HardlinkProtection links)
      throws IOException, ConfigException {
    Map<ConfigKey, String> values = new EnumMap<>(ConfigKey.class);
    values.put(ConfigKey.LISTEN, "127.0.0.1:0");
    values.put(ConfigKey.STATE_DIR, dir.resolve("state").toString());
    values.put(ConfigKey.LAYOUT, "none");
    values.putAll(overrides);
    AgentConfig config = AgentConfig.from(values, new LayoutResolver(dir.resolve("fsroot")));
    return new TestAgent(Agent.start(config, links), new AgentState(config.stateDir()), config);
  }

  /** A fresh one-time pairing code, as {@code ferry-agent init} would print. */
  public String newPairingCode() throws IOException {
    return state.pairingCodes().create(config.pairingCodeTtl(), Clock.systemUTC());
  }

  public String address() {
    return "127.0.0.1:" + agent.port();
  }

  public String fingerprint() {
    return agent.fingerprint();
  }

  public AgentState state() {
    return state;
  }

  public AgentConfig config() {
    return config;
  }

  @Override
  public void close() {
    agent.close();
  }
}
