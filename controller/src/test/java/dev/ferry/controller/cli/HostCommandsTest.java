package dev.ferry.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.controller.testing.TestController;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** secrets copy and tootctl through the real CLI, real TLS and two real agents on real files. */
@Timeout(120)
class HostCommandsTest {
  private static final String SECRET = "planted5ecretValue0123456789abcdefXYZ";

  @BeforeAll
  static void mastodonUser() throws Exception {
    if (new ProcessBuilder("id", "mastodon").start().waitFor() != 0) {
      assertEquals(0, new ProcessBuilder("useradd", "--system", "--user-group", "--no-create-home", "mastodon").inheritIO().start().waitFor());
    }
  }

  private static Path open(Path dir) throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  private static TestAgent ubuntu(Path dir) throws Exception {
    // runuser'd tootctl must reach the live dir: open the path from the temp dir down.
    open(dir.getParent());
    Path live = open(open(open(open(dir).resolve("fs")).resolve("home")).resolve("live"));
    return TestAgent.start(dir, Map.of(ConfigKey.LAYOUT, "ubuntu", ConfigKey.MASTODON_ROOT, live.toString(),
        ConfigKey.TOOTCTL, live.resolve("bin/tootctl").toString()));
  }

  private static TestAgent nixos(Path dir) throws Exception {
    Path root = open(dir.resolve("var-lib-mastodon"));
    return TestAgent.start(dir, Map.of(ConfigKey.LAYOUT, "nixos", ConfigKey.MASTODON_ROOT, root.toString(),
        ConfigKey.SECRETS_DIR, root.resolve("secrets").toString()));
  }

  @Test
  void secretsGoUbuntuToNixosAsBareOwnerOnlyFilesWithoutEverShowingAValue(@TempDir Path tmp) throws Exception {
    ByteArrayOutputStream logs = new ByteArrayOutputStream();
    Handler capture = new Handler() {
      final SimpleFormatter format = new SimpleFormatter();

      @Override
      public void publish(LogRecord record) {
        logs.writeBytes(format.format(record).getBytes(StandardCharsets.UTF_8));
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger root = Logger.getLogger("");
    root.addHandler(capture);
    try (TestAgent source = ubuntu(tmp.resolve("a")); TestAgent target = nixos(tmp.resolve("b"))) {
      Path env = source.config().layout().envFile().orElseThrow();
      Files.writeString(env, String.join("\n",
          "LOCAL_DOMAIN=social.example",
          "WEB_DOMAIN=web.example",
          "SINGLE_USER_MODE=false",
          "S3_ENABLED=true",
          "S3_BUCKET=files",
          "DB_HOST=/var/run/postgresql",
          "SMTP_PASSWORD=" + SECRET + "smtp",
          "SECRET_KEY_BASE=" + SECRET,
          "OTP_SECRET=otp" + SECRET,
          "VAPID_PRIVATE_KEY=vpriv" + SECRET,
          "VAPID_PUBLIC_KEY=vpub" + SECRET,
          "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY=ar" + SECRET, ""));
      Path secrets = target.config().layout().secretsDir().orElseThrow();
      Files.createDirectories(secrets);
      Files.writeString(secrets.resolve("secret-key-base"), "generated-by-init-dirs\n");

      TestController controller = new TestController(tmp.resolve("ctl"));
      controller.pair("old", source);
      controller.pair("new", target);
      TestController.Run run = controller.run("secrets", "copy", "--from", "old", "--to", "new");
      assertEquals(0, run.exitCode(), run.out() + run.err());

      assertEquals(SECRET, Files.readString(secrets.resolve("secret-key-base")));
      assertEquals("vpub" + SECRET, Files.readString(secrets.resolve("vapid-public-key")));
      assertEquals("ar" + SECRET, Files.readString(secrets.resolve("active-record-encryption-primary-key")));
      for (String name : List.of("secret-key-base", "otp-secret", "vapid-private-key", "vapid-public-key")) {
        PosixFileAttributes attrs = Files.readAttributes(secrets.resolve(name), PosixFileAttributes.class);
        assertEquals("mastodon", attrs.owner().getName(), name);
        assertEquals("rw-------", PosixFilePermissions.toString(attrs.permissions()), name);
      }
      // The generated value was kept, not lost.
      try (Stream<Path> files = Files.list(secrets)) {
        Path backup = files.filter(p -> p.getFileName().toString().startsWith("secret-key-base.ferry-backup-")).findFirst().orElseThrow();
        assertEquals("generated-by-init-dirs\n", Files.readString(backup));
      }
      assertTrue(run.out().contains("SECRET_KEY_BASE") && run.out().contains("replaced"), run.out());
      assertTrue(run.out().contains("localDomain = \"social.example\";"), run.out());
      assertTrue(run.out().contains("S3_BUCKET = \"files\";"), run.out());
      assertTrue(run.out().contains("SMTP_PASSWORD"), "names the uncopied credential: " + run.out());
      assertFalse(run.out().contains("DB_HOST"), run.out());

      // Again: nothing changes, nothing new is backed up.
      TestController.Run again = controller.run("secrets", "copy", "--from", "old", "--to", "new");
      assertEquals(0, again.exitCode(), again.err());
      assertTrue(again.out().contains("unchanged"), again.out());

      for (String text : List.of(run.out(), run.err(), again.out(), again.err(), logs.toString(StandardCharsets.UTF_8))) {
        assertFalse(text.contains(SECRET), "a secret value leaked: " + text);
      }
      assertTrue(logs.toString(StandardCharsets.UTF_8).contains("SECRET_KEY_BASE"), "the logs name the keys");
    } finally {
      root.removeHandler(capture);
    }
  }

  @Test
  void secretsGoNixosToUbuntuIntoTheEnvFileKeepingTheOldOne(@TempDir Path tmp) throws Exception {
    try (TestAgent source = nixos(tmp.resolve("a")); TestAgent target = ubuntu(tmp.resolve("b"))) {
      Path secrets = Files.createDirectories(source.config().layout().secretsDir().orElseThrow());
      Files.writeString(secrets.resolve("secret-key-base"), "skb-nix\n");
      Files.writeString(secrets.resolve("vapid-private-key"), "vpriv-nix\n");
      Files.writeString(secrets.resolve("vapid-public-key"), "vpub-nix\n");
      Path env = target.config().layout().envFile().orElseThrow();
      Files.writeString(env, "LOCAL_DOMAIN=social.example\nSECRET_KEY_BASE=old-ubuntu\n");

      TestController controller = new TestController(tmp.resolve("ctl"));
      controller.pair("nix", source);
      controller.pair("ubu", target);
      TestController.Run run = controller.run("secrets", "copy", "--from", "nix", "--to", "ubu");
      assertEquals(0, run.exitCode(), run.out() + run.err());

      String written = Files.readString(env);
      assertTrue(written.contains("LOCAL_DOMAIN=social.example\n"), written);
      assertTrue(written.contains("SECRET_KEY_BASE=skb-nix\n") && !written.contains("old-ubuntu"), written);
      assertTrue(written.contains("VAPID_PUBLIC_KEY=vpub-nix\n"), written);
      PosixFileAttributes attrs = Files.readAttributes(env, PosixFileAttributes.class);
      assertEquals("mastodon", attrs.owner().getName());
      assertEquals("rw-------", PosixFilePermissions.toString(attrs.permissions()));
      try (Stream<Path> files = Files.list(env.getParent())) {
        Path backup = files.filter(p -> p.getFileName().toString().startsWith(".env.production.ferry-backup-")).findFirst().orElseThrow();
        assertTrue(Files.readString(backup).contains("SECRET_KEY_BASE=old-ubuntu"));
      }
      assertFalse(run.out().contains("skb-nix"), run.out());
    }
  }

  @Test
  void tootctlRunsAllowlistedCommandsAsMastodonInTheLiveDirStreamingOutputAndExitCode(@TempDir Path tmp) throws Exception {
    try (TestAgent host = ubuntu(tmp.resolve("a"))) {
      Path live = host.config().layout().mastodonRoot();
      Path tootctl = open(live.resolve("bin")).resolve("tootctl");
      Files.writeString(tootctl, String.join("\n",
          "#!/bin/bash",
          "echo \"user=$(id -un) dir=$PWD env=$RAILS_ENV args=$*\"",
          "echo 'to stderr' >&2",
          "for i in 1 2 3; do echo line$i; done",
          "[[ \" $* \" == *' --fail '* ]] && exit 7",
          "exit 0", ""));
      Files.setPosixFilePermissions(tootctl, PosixFilePermissions.fromString("rwxr-xr-x"));
      TestController controller = new TestController(tmp.resolve("ctl"));
      controller.pair("box", host);

      TestController.Run ok = controller.run("tootctl", "box", "--", "feeds", "build", "--concurrency=2");
      assertEquals(0, ok.exitCode(), ok.err());
      assertTrue(ok.out().contains("user=mastodon dir=" + live + " env=production args=feeds build --concurrency=2"), ok.out());
      assertTrue(ok.out().contains("line1\nline2\nline3\n"), ok.out());
      assertTrue(ok.err().contains("to stderr"), ok.err());

      TestController.Run failing = controller.run("tootctl", "box", "--", "media", "refresh", "--fail");
      assertEquals(7, failing.exitCode(), failing.err());

      TestController.Run refused = controller.run("tootctl", "box", "--", "accounts", "delete", "alice");
      assertEquals(2, refused.exitCode());
      assertTrue(refused.err().contains("not allowed"), refused.err());
      TestController.Run sneaky = controller.run("tootctl", "box", "--", "feeds", "build", "$(reboot)");
      assertEquals(2, sneaky.exitCode());
    }
  }
}
