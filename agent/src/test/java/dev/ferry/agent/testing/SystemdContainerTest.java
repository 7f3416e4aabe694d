package dev.ferry.agent.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The harness itself: a real systemd boots, runs units, is reachable over a veth, and goes away. */
@Timeout(300)
class SystemdContainerTest {
  private static final Duration T = Duration.ofSeconds(30);

  @Test
  void bootsRealSystemdReachableFromAControllerNamespaceAndCleansUp() throws Exception {
    SystemdContainer kept;
    try (NetNamespace controller = NetNamespace.create("ctl");
        NetNamespace hostNs = NetNamespace.create("box")) {
      NetNamespace.link(controller, "10.213.7.1/30", hostNs, "10.213.7.2/30");
      try (SystemdContainer box = SystemdContainer.builder("box").network(hostNs).boot()) {
        kept = box;
        assertEquals("systemd", Files.readString(java.nio.file.Path.of("/proc/" + box.pid() + "/comm")).strip());
        // PostgreSQL from the root, and the host's JDK bound read-only.
        assertTrue(box.waitForUnit("postgresql.service", "active", T), box.journal("postgresql"));
        assertTrue(box.check(T, "/usr/bin/java", "-version").output().contains("17"));

        box.installUnit("probe.service",
            "[Service]\nExecStart=/usr/bin/redis-server --port 6390 --bind 10.213.7.2 --protected-mode no --save ''\n");
        box.check(T, "systemctl", "start", "probe.service");
        assertTrue(box.waitForUnit("probe.service", "active", T));
        // From the controller's namespace, over the veth, to the container's service.
        String pong = "";
        for (int i = 0; i < 50 && !pong.contains("+PONG"); i++) {
          pong = controller.exec(T, "bash", "-c",
              "exec 3<>/dev/tcp/10.213.7.2/6390 && printf 'PING\\r\\n' >&3 && head -c 7 <&3").stdout();
          Thread.sleep(100);
        }
        assertTrue(pong.contains("+PONG"), pong);
        // The host's own namespace has no such address.
        assertFalse(Processes.run(T, java.util.List.of("ip", "addr")).stdout().contains("10.213.7."));
      }
      assertFalse(Files.exists(java.nio.file.Path.of("/proc/" + kept.pid())), "container's systemd still runs");
    }
  }

  @Test
  void ownNamespaceIsRemovedOnClose() throws Exception {
    java.nio.file.Path ns;
    try (SystemdContainer box = SystemdContainer.builder("own").boot()) {
      ns = box.netns().path();
      assertTrue(Files.exists(ns));
      box.writeFile("/etc/ferry-probe", "hello\n", "rw-------");
      assertEquals("hello", box.check(T, "cat", "/etc/ferry-probe").stdout().strip());
    }
    assertFalse(Files.exists(ns));
  }
}
