package dev.ferry.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ferry.agent.config.ConfigKey;
import dev.ferry.agent.testing.TestAgent;
import dev.ferry.agent.testing.TestPostgres;
import dev.ferry.controller.testing.TestController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry status} against two real agents, a real PostgreSQL and media trees made here. */
@Timeout(180)
class StatusCommandTest {
  private static TestPostgres postgres;

  @TempDir Path dir;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = TestPostgres.start("status");
    postgres.createRole("mastodon");
    postgres.createDatabase("mastodon_production", "mastodon");
    postgres.psqlAs("mastodon", "mastodon_production", "CREATE TABLE statuses (id bigint, text text);"
        + "INSERT INTO statuses SELECT g, repeat('toot ', 50) FROM generate_series(1, 2000) g;");
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  /** What the test wrote, counted as it wrote it. */
  record Tree(long files, long bytes) {}

  /** Writes {@code n} files of random sizes in an id_partition-like layout, plus things that are not files. */
  static Tree makeTree(Path root, int n, long seed) throws Exception {
    Random random = new Random(seed);
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      Path file = root.resolve(String.format("%s/accounts/avatars/000/000/%03d/original/%d.png",
          i % 3 == 0 ? "cache" : ".", i, i)).normalize();
      Files.createDirectories(file.getParent());
      byte[] data = new byte[random.nextInt(5000)];
      random.nextBytes(data);
      Files.write(file, data);
      bytes += data.length;
    }
    // Neither an empty directory nor a symlink is a file, and a symlink's target is not counted twice.
    Files.createDirectories(root.resolve("media_attachments/files/empty"));
    Files.createSymbolicLink(root.resolve("link.png"), root.resolve("accounts"));
    return new Tree(n, bytes);
  }

  @Test
  void jsonReportsLayoutsAndMediaFiguresOfBothHosts() throws Exception {
    Path live = dir.resolve("home/mastodon/live");
    Tree ubuntuTree = makeTree(live.resolve("public/system"), 57, 1);
    Files.writeString(live.resolve(".env.production"), "LOCAL_DOMAIN=example.social\nSECRET_KEY_BASE=abc123secret\n");
    Files.createDirectories(live.resolve("lib/mastodon"));
    Files.writeString(live.resolve("lib/mastodon/version.rb"),
        "module Mastodon\n  module Version\n    module_function\n\n    def major\n      4\n    end\n\n"
            + "    def minor\n      3\n    end\n\n    def patch\n      2\n    end\n  end\nend\n");
    Path nixos = dir.resolve("var/lib/mastodon");
    Tree nixosTree = makeTree(nixos.resolve("public-system"), 23, 2);
    Map<ConfigKey, String> db = Map.of(
        ConfigKey.DB_HOST, postgres.socketDir().toString(),
        ConfigKey.PG_BINDIR, postgres.bindir().toString());
    try (TestAgent old = TestAgent.start(dir.resolve("a1"), with(db, Map.of(
            ConfigKey.LAYOUT, "ubuntu", ConfigKey.MASTODON_ROOT, live.toString())));
        TestAgent fresh = TestAgent.start(dir.resolve("a2"), with(db, Map.of(
            ConfigKey.LAYOUT, "nixos", ConfigKey.MASTODON_ROOT, nixos.toString())))) {
      TestController controller = new TestController(dir.resolve("controller"));
      controller.pair("old", old);
      controller.pair("new", fresh);

      TestController.Run run = controller.run("status", "--json");
      assertEquals(0, run.exitCode(), run.err());
      assertTrue(!run.out().contains("abc123secret"), "a secret leaked into status");
      JsonArray hosts = JsonParser.parseString(run.out()).getAsJsonObject().getAsJsonArray("hosts");
      assertEquals(2, hosts.size());
      JsonObject a = hosts.get(0).getAsJsonObject();
      JsonObject b = hosts.get(1).getAsJsonObject();
      assertEquals("old", a.get("name").getAsString());
      assertEquals("ubuntu", a.get("layout").getAsString());
      assertEquals(live.resolve("public/system").toString(), a.getAsJsonObject("media").get("root").getAsString());
      assertEquals(ubuntuTree.files(), a.getAsJsonObject("media").get("files").getAsLong());
      assertEquals(ubuntuTree.bytes(), a.getAsJsonObject("media").get("bytes").getAsLong());
      assertEquals("4.3.2", a.getAsJsonObject("mastodon").get("version").getAsString());
      assertEquals("1", a.get("protected_hardlinks").getAsString());
      assertEquals("example.social", a.get("local_domain").getAsString());
      assertEquals("new", b.get("name").getAsString());
      assertEquals("nixos", b.get("layout").getAsString());
      assertEquals(nixos.resolve("public-system").toString(), b.getAsJsonObject("media").get("root").getAsString());
      assertEquals(nixosTree.files(), b.getAsJsonObject("media").get("files").getAsLong());
      assertEquals(nixosTree.bytes(), b.getAsJsonObject("media").get("bytes").getAsLong());

      // PostgreSQL figures come from the real server.
      String serverMajor = postgres.psql("postgres", "SHOW server_version_num").substring(0, 2);
      assertTrue(a.getAsJsonObject("postgres").get("server_version").getAsString().startsWith(serverMajor));
      long size = Long.parseLong(postgres.psql("postgres", "SELECT pg_database_size('mastodon_production')"));
      assertEquals(size, a.getAsJsonObject("database").get("size_bytes").getAsLong());
      assertEquals(-1, b.getAsJsonObject("database").get("size_bytes").getAsLong(), "NixOS DB 'mastodon' does not exist yet");
      assertTrue(a.getAsJsonArray("disks").size() >= 1);
      assertEquals(false, a.getAsJsonObject("systemd").get("running").getAsBoolean());

      TestController.Run human = controller.run("status", "old");
      assertEquals(0, human.exitCode(), human.err());
      assertTrue(human.out().contains("57 files"), human.out());
      assertTrue(human.out().contains("systemd is not running"), human.out());
    }
  }

  @Test
  void unreachableHostFailsWithExitOne() throws Exception {
    TestController controller = new TestController(dir.resolve("controller"));
    try (TestAgent agent = TestAgent.start(dir.resolve("a"), Map.of())) {
      controller.pair("gone", agent);
    }
    TestController.Run run = controller.run("status", "gone");
    assertEquals(1, run.exitCode());
    assertTrue(run.err().contains("cannot reach the agent"), run.err());
  }

  private static Map<ConfigKey, String> with(Map<ConfigKey, String> a, Map<ConfigKey, String> b) {
    Map<ConfigKey, String> all = new java.util.EnumMap<>(ConfigKey.class);
    all.putAll(a);
    all.putAll(b);
    return all;
  }
}
