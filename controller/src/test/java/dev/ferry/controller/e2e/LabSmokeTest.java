package dev.ferry.controller.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Temporary: the lab boots, pairs and reports status through the bridge. */
@Timeout(600)
class LabSmokeTest {
  @TempDir Path dir;

  @Test
  void labBootsAndPairs() throws Exception {
    try (TwoHostLab lab = TwoHostLab.start(dir)) {
      TwoHostLab.Ferry status = lab.ferry("status", "--json");
      assertEquals(0, status.exitCode(), status.err());
      assertTrue(status.out().contains("\"layout\": \"ubuntu\""), status.out());
      assertTrue(status.out().contains("\"layout\": \"nixos\""), status.out());
      System.out.println(status.out());
    }
  }
}
