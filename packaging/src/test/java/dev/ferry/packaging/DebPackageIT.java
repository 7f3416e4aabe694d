package dev.ferry.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.testing.Processes;
import dev.ferry.agent.testing.SystemdContainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The .deb this build made, installed for real: {@code dpkg -i} (plus {@code apt-get -f install})
 * into a booted Debian bookworm with a real systemd ({@link SystemdContainer}: systemd-nspawn on
 * the cached debootstrap root, which has openjdk-17-jre-headless but no ferry), then used the
 * way the README says: config from the shipped example, {@code ferry-agent init}, {@code
 * systemctl enable --now ferry-agent}, and the installed {@code ferry} pairs with it and gets
 * {@code ferry status}. Everything runs inside the container (its own network namespace,
 * loopback only), through the installed launchers under the installed, hardened unit.
 */
@Tag("integration")
class DebPackageIT {
  private static final Duration STEP = Duration.ofSeconds(90);
  private static final String DEB_INSIDE = "/opt/ferry-test/ferry.deb";
  private static final Pattern FINGERPRINT = Pattern.compile("fingerprint:\\s+(\\S+)");
  private static final Pattern CODE = Pattern.compile("pairing code: (\\S+)");

  @Test
  @Timeout(value = 8, unit = java.util.concurrent.TimeUnit.MINUTES)
  void installsBootsPairsAndAnswersStatus() throws Exception {
    Path deb = Path.of(System.getProperty("ferry.deb", "target/ferry_0.1.0_all.deb"));
    assertTrue(Files.isRegularFile(deb), "no .deb at " + deb + " (mvn package builds it)");

    try (SystemdContainer box = SystemdContainer.builder("deb").bindReadOnly(deb, DEB_INSIDE).boot()) {
      assertFalse(box.exec(STEP, "test", "-e", "/usr/bin/ferry-agent").ok(), "the root must start without ferry");

      // ---- Install ------------------------------------------------------------------------
      Processes.Result install = box.exec(STEP, "dpkg", "-i", DEB_INSIDE);
      if (!install.ok()) {
        // Missing dependencies: what the README tells users to do next.
        box.check(STEP, "apt-get", "-f", "install", "-y");
      }
      box.check(STEP, "apt-get", "-f", "install", "-y");
      box.check(STEP, "dpkg-query", "-W", "-f", "${Status}", "ferry");
      assertTrue(install.stdout().contains("ferry-agent init"), "postinst prints the next step: " + install.output());
      for (String file : List.of("/usr/bin/ferry-agent", "/usr/bin/ferry", "/usr/share/ferry/ferry-agent.jar",
          "/usr/share/ferry/ferry-controller.jar", "/lib/systemd/system/ferry-agent.service",
          "/etc/ferry/agent.conf.example")) {
        box.check(STEP, "test", "-f", file);
      }
      assertEquals("700 root", box.check(STEP, "stat", "-c", "%a %U", "/var/lib/ferry").stdout().strip());
      assertEquals("/etc/ferry/agent.conf.example",
          box.check(STEP, "cat", "/var/lib/dpkg/info/ferry.conffiles").stdout().strip());
      box.check(STEP, "systemd-analyze", "verify", "ferry-agent.service");

      // Without a config the unit does not start (and does not loop): the condition says why.
      box.check(STEP, "systemctl", "start", "ferry-agent.service");
      assertEquals("no", show(box, "ConditionResult"));
      assertEquals("inactive", show(box, "ActiveState"));

      // ---- Configure as the README says: the shipped example with this host's address -----
      box.check(STEP, "sh", "-c",
          "sed 's/^listen = .*/listen = 127.0.0.1:7443/' /etc/ferry/agent.conf.example > /etc/ferry/agent.conf");
      // The cached root has PostgreSQL 15 installed but no cluster: make the usual one, so
      // status shows the agent reaching it as postgres (runuser + psql) under the hardening.
      box.check(STEP, "pg_createcluster", "15", "main", "--start");
      // A stand-in for a Mastodon unit, to check the hardened agent can still stop services.
      box.installUnit("mastodon-web.service", "[Service]\nExecStart=/bin/sleep infinity\n");
      box.check(STEP, "systemctl", "start", "mastodon-web.service");

      String init = clean(box, "ferry-agent", "init").stdout();
      String fingerprint = group(FINGERPRINT, init);
      String code = group(CODE, init);

      box.check(STEP, "systemctl", "enable", "--now", "ferry-agent.service");
      awaitServing(box);
      assertEquals("active", show(box, "ActiveState"));
      String mainPid = show(box, "MainPID");
      String args = box.check(STEP, "ps", "-o", "args=", "-p", mainPid).stdout();
      assertTrue(args.contains("-Xmx192m") && args.contains("-XX:MaxDirectMemorySize=32m"), "bounded JVM: " + args);
      assertTrue(args.contains("/share/ferry/ferry-agent.jar run --config /etc/ferry/agent.conf"), args);

      // ---- Pair and ask for status with the installed controller ---------------------------
      Processes.Result wrong = clean(box, List.of("ferry", "pair", "box", "127.0.0.1:7443", "--code", code,
          "--fingerprint", "00".repeat(32)), false);
      assertNotEquals(0, wrong.exitCode(), "a fingerprint mismatch must not pair: " + wrong.output());
      assertTrue(wrong.stderr().contains(fingerprint), "the mismatch names the agent's real fingerprint: " + wrong.output());

      String freshCode = group(CODE, clean(box, "ferry-agent", "init").stdout());
      Processes.Result pair = clean(box, "ferry", "pair", "box", "127.0.0.1:7443", "--code", freshCode,
          "--fingerprint", fingerprint);
      assertTrue(pair.stdout().contains(fingerprint), pair.output());

      Processes.Result status = clean(box, "ferry", "status", "box", "--json");
      JsonObject host = JsonParser.parseString(status.stdout()).getAsJsonObject()
          .getAsJsonArray("hosts").get(0).getAsJsonObject();
      assertEquals(fingerprint, host.get("fingerprint").getAsString());
      assertEquals("none", host.get("layout").getAsString(), "no Mastodon in this root: " + host);
      assertTrue(host.getAsJsonObject("systemd").get("running").getAsBoolean(), host.toString());
      // psql ran as postgres through runuser under the unit's hardening, and reached the server.
      assertTrue(host.getAsJsonObject("postgres").get("server_version").getAsString().startsWith("15"),
          "PostgreSQL seen by the hardened agent: " + host.getAsJsonObject("postgres"));

      // The agent may still stop (and start) an allowed unit under its hardening.
      clean(box, "ferry", "service", "box", "stop", "mastodon-web");
      assertEquals("inactive", box.exec(STEP, "systemctl", "is-active", "mastodon-web").stdout().strip());
      clean(box, "ferry", "service", "box", "start", "mastodon-web");
      assertEquals("active", box.exec(STEP, "systemctl", "is-active", "mastodon-web").stdout().strip());

      // ---- Restart=on-failure: a crashed agent comes back ----------------------------------
      box.check(STEP, "kill", "-KILL", mainPid);
      assertTrue(awaitNewPid(box, mainPid), "restarted after a crash: " + box.journal("ferry-agent.service"));
      assertTrue(box.waitForUnit("ferry-agent.service", "active", Duration.ofSeconds(30)), box.journal("ferry-agent.service"));
      awaitServing(box);
      assertEquals("0", clean(box, List.of("sh", "-c", "ferry status box --json >/dev/null; echo $?"), true).stdout().strip());

      // ---- A bad config stops it with the key named, and it does not restart in a loop ----
      box.check(STEP, "sh", "-c", "echo 'listen_port = 7443' >> /etc/ferry/agent.conf");
      box.exec(STEP, "systemctl", "restart", "ferry-agent.service");
      assertTrue(box.waitForUnit("ferry-agent.service", "failed", Duration.ofSeconds(30)), box.journal("ferry-agent.service"));
      assertEquals("2", show(box, "ExecMainStatus"));
      assertTrue(box.journal("ferry-agent.service").contains("unknown key 'listen_port'"), box.journal("ferry-agent.service"));
      Thread.sleep(7_000); // longer than RestartSec=5s
      assertEquals("failed", show(box, "ActiveState"), "no restart loop on a config error");

      // ---- Removal keeps the identity ----------------------------------------------------
      box.check(STEP, "dpkg", "--purge", "ferry");
      assertFalse(box.exec(STEP, "test", "-e", "/usr/bin/ferry-agent").ok());
      assertFalse(box.exec(STEP, "test", "-e", "/lib/systemd/system/ferry-agent.service").ok());
      box.check(STEP, "test", "-f", "/var/lib/ferry/key.pem");
    }
  }

  private static String show(SystemdContainer box, String property) throws IOException {
    return box.check(STEP, "systemctl", "show", "--value", "-p", property, "ferry-agent.service").stdout().strip();
  }

  private static boolean awaitNewPid(SystemdContainer box, String oldPid) throws IOException, InterruptedException {
    for (int i = 0; i < 60; i++) {
      String pid = show(box, "MainPID");
      if (!pid.equals("0") && !pid.equals(oldPid)) {
        return true;
      }
      Thread.sleep(500);
    }
    return false;
  }

  private static void awaitServing(SystemdContainer box) throws IOException, InterruptedException {
    String pid = show(box, "MainPID");
    for (int i = 0; i < 120; i++) {
      // Only this run of the agent counts: look at its own lines in the journal.
      Processes.Result journal = box.exec(STEP, "journalctl", "--no-pager", "_PID=" + pid);
      if (journal.stdout().contains("serving on 127.0.0.1:7443")) {
        return;
      }
      if (!show(box, "ActiveState").equals("active")) {
        break;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("ferry-agent is not serving: " + box.journal("ferry-agent.service"));
  }

  /** Runs a command inside with a login-like clean environment (nothing from this JVM's). */
  private static Processes.Result clean(SystemdContainer box, String... argv) throws IOException {
    return clean(box, List.of(argv), true);
  }

  private static Processes.Result clean(SystemdContainer box, List<String> argv, boolean mustSucceed) throws IOException {
    List<String> full = new ArrayList<>(List.of("env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root", "LANG=C.UTF-8"));
    full.addAll(argv);
    Processes.Result result = box.exec(STEP, full.toArray(String[]::new));
    if (mustSucceed && !result.ok()) {
      throw new AssertionError(String.join(" ", argv) + " exited " + result.exitCode() + ": " + result.output());
    }
    return result;
  }

  private static String group(Pattern pattern, String text) {
    Matcher m = pattern.matcher(text);
    assertTrue(m.find(), "no " + pattern + " in: " + text);
    return m.group(1);
  }
}
