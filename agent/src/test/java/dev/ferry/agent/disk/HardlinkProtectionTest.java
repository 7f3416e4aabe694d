package dev.ferry.agent.disk;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the agent makes of fs.protected_hardlinks, read from a stand-in for /proc/sys. */
class HardlinkProtectionTest {
  @TempDir Path dir;

  @Test
  void onIsAllowed() throws Exception {
    HardlinkProtection links = new HardlinkProtection(Files.writeString(dir.resolve("sysctl"), "1\n"), "h");
    assertEquals("1", links.value());
    assertFalse(links.off());
    assertDoesNotThrow(() -> links.require("receive media"));
  }

  @Test
  void offIsRefusedWithTheFix() throws Exception {
    HardlinkProtection links = new HardlinkProtection(Files.writeString(dir.resolve("sysctl"), "0\n"), "new-host");
    assertTrue(links.off());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> links.require("receive media"));
    assertTrue(e.getMessage().startsWith("fs.protected_hardlinks is 0 on new-host: "), e.getMessage());
    assertTrue(e.getMessage().contains("sysctl -w fs.protected_hardlinks=1"), e.getMessage());
    assertTrue(e.getMessage().endsWith("ferry will not receive media until it is 1"), e.getMessage());
  }

  @Test
  void readAtEveryCall() throws Exception {
    Path sysctl = Files.writeString(dir.resolve("sysctl"), "0\n");
    HardlinkProtection links = new HardlinkProtection(sysctl, "h");
    assertTrue(links.off());
    Files.writeString(sysctl, "1\n");
    assertFalse(links.off());
  }

  @Test
  void unreadableIsNotRefused() {
    // No /proc (some containers): the agent cannot know, and preflight warns instead.
    HardlinkProtection links = new HardlinkProtection(dir.resolve("missing"), "h");
    assertEquals("", links.value());
    assertFalse(links.off());
    assertDoesNotThrow(() -> links.require("send media"));
  }

  @Test
  void theKernelsSettingIsWhatIsRead() {
    String value = new HardlinkProtection(HardlinkProtection.SYSCTL, "h").value();
    assertTrue(value.equals("0") || value.equals("1"), "fs.protected_hardlinks read as '" + value + "'");
  }
}
