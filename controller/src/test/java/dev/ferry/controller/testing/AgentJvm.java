package dev.ferry.controller.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** How a {@link ChildAgent}'s JVM is started: its options and extra environment. */
public record AgentJvm(List<String> options, Map<String, String> environment) {
  /** Quick to start: C1 only. Tests that measure the agent use {@link #ofUnitFile()} instead. */
  public static final AgentJvm QUICK = new AgentJvm(List.of(ChildAgent.MAX_HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), Map.of());
  private static final Pattern ENVIRONMENT = Pattern.compile("^Environment=\"([A-Z_]+)=([^\"]*)\"$", Pattern.MULTILINE);

  /**
   * What systemd/ferry-agent.service gives the agent in production (its FERRY_JAVA_OPTS and the
   * rest of its environment), read from the unit file itself so a test of the agent's memory
   * checks the limits users really get.
   */
  public static AgentJvm ofUnitFile() throws IOException {
    Path unit = RepoRoot.find().resolve("systemd/ferry-agent.service");
    Map<String, String> environment = new HashMap<>();
    Matcher m = ENVIRONMENT.matcher(Files.readString(unit));
    while (m.find()) {
      environment.put(m.group(1), m.group(2));
    }
    String options = environment.remove("FERRY_JAVA_OPTS");
    if (options == null || options.isBlank()) {
      throw new IOException(unit + " sets no FERRY_JAVA_OPTS");
    }
    return new AgentJvm(Arrays.asList(options.trim().split("\\s+")), Map.copyOf(environment));
  }
}
