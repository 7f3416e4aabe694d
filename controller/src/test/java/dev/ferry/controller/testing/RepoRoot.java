package dev.ferry.controller.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The checkout the tests run in, for tests that use its launchers, unit files or lab scripts. */
public final class RepoRoot {
  private RepoRoot() {}

  public static Path find() throws IOException {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("pom.xml")) && Files.exists(dir.resolve("bin/ferry-launch.sh"))
          && Files.exists(dir.resolve("systemd/ferry-agent.service"))) {
        return dir;
      }
    }
    throw new IOException("cannot find the repository root");
  }
}
