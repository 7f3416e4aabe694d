package dev.ferry.controller.testing;

import dev.ferry.agent.config.ConfigKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * An Ubuntu-layout source agent and a NixOS-layout target agent, each a {@link ChildAgent} in a
 * JVM of its own, paired as {@code src} and {@code tgt} with a test controller.
 */
public record ChildAgentPair(ChildAgent source, ChildAgent target, TestController controller) implements AutoCloseable {

  /** Starts both agents under {@code dir}; the target's files belong to the OS user {@code mastodon}. */
  public static ChildAgentPair start(Path dir, Path sourceLive, Path sourceRoot, Path targetMastodon, Path targetRoot, AgentJvm jvm)
      throws Exception {
    ChildAgent source = ChildAgent.configure(dir.resolve("agent-src"), Map.of(ConfigKey.LAYOUT, "ubuntu",
        ConfigKey.MASTODON_ROOT, sourceLive.toString(), ConfigKey.MEDIA_ROOT, sourceRoot.toString()), jvm);
    ChildAgent target = ChildAgent.configure(dir.resolve("agent-tgt"), Map.of(ConfigKey.LAYOUT, "nixos",
        ConfigKey.MASTODON_ROOT, targetMastodon.toString(), ConfigKey.MEDIA_ROOT, targetRoot.toString(),
        ConfigKey.MASTODON_USER, "mastodon", ConfigKey.MASTODON_GROUP, "mastodon"), jvm);
    ChildAgentPair pair = new ChildAgentPair(source, target, new TestController(Files.createDirectories(dir.resolve("controller"))));
    try {
      String sourceCode = source.init();
      String targetCode = target.init();
      source.start();
      target.start();
      pair.pair("src", source, sourceCode);
      pair.pair("tgt", target, targetCode);
      return pair;
    } catch (Exception e) {
      pair.close();
      throw e;
    }
  }

  private void pair(String name, ChildAgent agent, String code) throws IOException {
    TestController.Run run = controller.run("pair", name, agent.address(), "--code", code);
    if (run.exitCode() != 0) {
      throw new IOException("ferry pair " + name + " failed: " + run.err());
    }
  }

  @Override
  public void close() throws InterruptedException {
    try {
      target.close();
    } finally {
      source.close();
    }
  }
}
