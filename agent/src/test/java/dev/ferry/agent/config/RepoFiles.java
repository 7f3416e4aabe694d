package dev.ferry.agent.config;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files of this repository that tests check (the shipped example config, the NixOS fixtures). */
final class RepoFiles {
  private RepoFiles() {}

  /** Finds {@code relative} from the working directory (Maven runs tests in the module dir). */
  static Path find(String relative) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve(relative)) && Files.exists(dir.resolve("systemd/ferry-agent.service"))) {
        return dir.resolve(relative);
      }
    }
    throw new IllegalStateException("cannot find " + relative + " above " + Path.of("").toAbsolutePath());
  }
}
