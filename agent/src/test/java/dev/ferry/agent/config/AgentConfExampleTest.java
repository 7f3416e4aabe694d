package dev.ferry.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.layout.LayoutKind;
import dev.ferry.agent.layout.LayoutResolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps {@code systemd/agent.conf.example} in step with the agent: it parses as shipped, it
 * documents every {@link ConfigKey} exactly once, every example value is accepted, and the
 * per-layout defaults it documents are the ones {@link LayoutResolver#defaults} uses.
 */
class AgentConfExampleTest {
  // "#key = value": a documented key, commented out. Prose comments start with "# ".
  private static final Pattern COMMENTED = Pattern.compile("#([a-z_.]+) = (.*)");
  private static final Pattern ACTIVE = Pattern.compile("([a-z_.]+) = (.*)");
  // "#   ubuntu: value" above a key documents its default in that layout.
  private static final Pattern DEFAULT = Pattern.compile("#\\s+(default|ubuntu|nixos): (.*)");

  @TempDir Path emptyRoot;

  private static List<String> lines() throws IOException {
    return Files.readAllLines(RepoFiles.find("systemd/agent.conf.example"));
  }

  private LayoutResolver resolver() {
    // An empty filesystem: "auto" detects no install, so nothing depends on this machine.
    return new LayoutResolver(emptyRoot);
  }

  @Test
  void parsesAsShipped() throws Exception {
    Map<ConfigKey, String> values = ConfigFile.parse("agent.conf.example", lines());
    AgentConfig config = AgentConfig.from(values, resolver());
    assertEquals("100.64.0.1", config.listenHost());
    assertEquals(AgentConfig.DEFAULT_PORT, config.listenPort());
    assertEquals(AgentConfig.DEFAULT_STATE_DIR, config.stateDir());
  }

  @Test
  void documentsEveryKeyExactlyOnce() throws Exception {
    Map<String, Integer> seen = new LinkedHashMap<>();
    for (String line : lines()) {
      Matcher m = COMMENTED.matcher(line);
      Matcher a = ACTIVE.matcher(line);
      String key = m.matches() ? m.group(1) : a.matches() ? a.group(1) : null;
      if (key != null) {
        seen.merge(key, 1, Integer::sum);
        assertTrue(ConfigKey.of(key).isPresent(), "the example documents '" + key + "', which the agent does not accept");
      }
    }
    for (ConfigKey key : ConfigKey.values()) {
      assertEquals(1, seen.getOrDefault(key.key(), 0), "key '" + key.key() + "' documented in agent.conf.example");
    }
  }

  @Test
  void acceptsEveryExampleValueAtOnce() throws Exception {
    List<String> uncommented = new ArrayList<>();
    int count = 0;
    for (String line : lines()) {
      Matcher m = COMMENTED.matcher(line);
      if (m.matches()) {
        uncommented.add(m.group(1) + " = " + m.group(2));
        count++;
      } else {
        uncommented.add(line);
      }
    }
    Map<ConfigKey, String> values = ConfigFile.parse("uncommented example", uncommented);
    assertEquals(ConfigKey.values().length, values.size());
    assertEquals(count + 1, values.size(), "every key but listen is commented out in the example");
    AgentConfig config = AgentConfig.from(values, resolver());
    // The example values describe the standard Ubuntu install.
    assertEquals(LayoutKind.NONE, config.layout().kind(), "layout = auto on an empty root");
    assertEquals(Path.of("/home/mastodon/live/public/system"), config.layout().mediaRoot());
  }

  @Test
  void documentedUbuntuDefaultsAreTheAgentsDefaults() throws Exception {
    assertDocumentedDefaults("ubuntu");
  }

  @Test
  void documentedNixosDefaultsAreTheAgentsDefaults() throws Exception {
    assertDocumentedDefaults("nixos");
  }

  /**
   * Sets every key to the value documented for {@code layout} and checks the result equals the
   * config with none of them set: the documentation states exactly the built-in defaults.
   */
  private void assertDocumentedDefaults(String layout) throws Exception {
    Map<ConfigKey, String> documented = new EnumMap<>(ConfigKey.class);
    List<String> pending = new ArrayList<>();
    for (String line : lines()) {
      Matcher d = DEFAULT.matcher(line);
      if (d.matches() && (d.group(1).equals(layout) || d.group(1).equals("default"))) {
        pending.add(d.group(2).equals("(none)") ? "" : d.group(2));
        continue;
      }
      Matcher m = COMMENTED.matcher(line);
      if (m.matches() && !pending.isEmpty()) {
        ConfigKey key = ConfigKey.of(m.group(1)).orElseThrow();
        assertEquals(1, pending.size(), "one default for '" + key.key() + "' in layout " + layout);
        documented.put(key, pending.get(0));
      }
      if (m.matches() || ACTIVE.matcher(line).matches()) {
        pending.clear();
      }
    }
    // Layout-independent keys whose default is prose, not a value: not comparable here.
    documented.remove(ConfigKey.PG_BINDIR);
    documented.put(ConfigKey.LAYOUT, layout);
    documented.put(ConfigKey.LISTEN, "100.64.0.1:7443");
    int layoutKeys = (int) documented.keySet().stream().count();
    assertTrue(layoutKeys >= ConfigKey.values().length - 1, "defaults documented for " + documented.keySet());

    Map<ConfigKey, String> bare = new EnumMap<>(ConfigKey.class);
    bare.put(ConfigKey.LAYOUT, layout);
    bare.put(ConfigKey.LISTEN, "100.64.0.1:7443");
    AgentConfig expected = AgentConfig.from(bare, resolver());
    AgentConfig actual = AgentConfig.from(documented, resolver());
    assertEquals(expected, actual);
    assertEquals(LayoutResolver.defaults(LayoutKind.valueOf(layout.toUpperCase(java.util.Locale.ROOT))), actual.layout());
    // And the check has teeth: a wrong documented default makes a different config.
    documented.put(ConfigKey.DB_NAME, "not_the_default");
    assertNotEquals(expected, AgentConfig.from(documented, resolver()));
  }
}
