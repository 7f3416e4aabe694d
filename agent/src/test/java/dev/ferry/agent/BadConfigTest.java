package dev.ferry.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent given a bad config refuses to start (exit 2, the usage-error code systemd's unit
 * does not restart on), names the key and line at fault, and creates nothing: no state
 * directory, no identity, no pairing code. Driven through the real command line, as systemd
 * runs it.
 */
class BadConfigTest {
  @TempDir Path dir;

  private record Outcome(int exitCode, String err, String out) {}

  private Outcome runAgent(String command, String config) throws IOException {
    Path file = dir.resolve("agent.conf");
    // A valid state_dir first, so each case shows its own mistake and nothing else.
    String text = config.contains("state_dir") ? config : "state_dir = " + dir.resolve("state") + "\n" + config;
    Files.writeString(file, text);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cli = AgentMain.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(command, "--config", file.toString());
    return new Outcome(code, err.toString(), out.toString());
  }

  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        // what is wrong    | the config line                        | the message must contain
        "unknown key        | listen = 127.0.0.1:7443\\nlisten_port = 7443 | agent.conf:3: unknown key 'listen_port'",
        "port out of range  | listen = 127.0.0.1:70000               | bad value for 'listen': '70000' is not a port",
        "port not a number  | listen = 127.0.0.1:https               | bad value for 'listen': 'https' is not a port",
        "no port            | listen = 127.0.0.1                     | bad value for 'listen': '127.0.0.1' (use HOST:PORT)",
        "missing listen     | layout = none                          | missing key 'listen'",
        "bad db.port        | listen = 127.0.0.1:7443\\ndb.port = 0  | bad value for 'db.port': '0' is not a port",
        "relative media     | listen = 127.0.0.1:7443\\nmedia.root = public/system | bad value for 'media.root': 'public/system' is not an absolute path",
        "relative db.host   | listen = 127.0.0.1:7443\\ndb.host = run/postgresql | bad value for 'db.host': 'run/postgresql' is not an absolute path",
        "bad layout         | listen = 127.0.0.1:7443\\nlayout = debian  | bad value for 'layout': 'debian' (use auto, ubuntu, nixos or none)",
        "allow everything   | listen = 127.0.0.1:7443\\nunits.allow = mastodon-*, * | bad value for 'units.allow': '*'",
        "allow shell chars  | listen = 127.0.0.1:7443\\nunits.allow = mastodon-web;reboot | bad value for 'units.allow': 'mastodon-web;reboot'",
        "empty allow entry  | listen = 127.0.0.1:7443\\nunits.allow = mastodon-*,,redis-server | bad value for 'units.allow': ''",
        "duplicate key      | listen = 127.0.0.1:7443\\nlisten = 127.0.0.1:7444 | agent.conf:3: key 'listen' is set twice",
        "not key = value    | listen = 127.0.0.1:7443\\nlayout nixos     | agent.conf:3: expected 'key = value', got 'layout nixos'",
        "bad ttl            | listen = 127.0.0.1:7443\\npairing_code_ttl = 2d | bad value for 'pairing_code_ttl': '2d'",
        "bad unit name      | listen = 127.0.0.1:7443\\nunits = mastodon-web, mastodon web | bad value for 'units': 'mastodon web' is not a unit name",
        "bad user name      | listen = 127.0.0.1:7443\\nmastodon.user = -rf | bad value for 'mastodon.user': '-rf' is not a valid name",
      })
  void refusesToRunAndNamesTheKey(String what, String config, String message) throws IOException {
    for (String command : new String[] {"run", "init"}) {
      Outcome outcome = runAgent(command, config.replace("\\n", "\n") + "\n");
      assertEquals(2, outcome.exitCode(), command + " with " + what + ": " + outcome.err());
      assertTrue(outcome.err().startsWith("ferry-agent: "), outcome.err());
      assertTrue(outcome.err().contains(message), "expected '" + message + "' in: " + outcome.err());
      assertEquals("", outcome.out(), "nothing on stdout (no fingerprint, no code)");
      assertFalse(Files.exists(dir.resolve("state")), command + " created the state directory despite a bad config");
    }
  }

  @Test
  void relativeStateDirIsRefused() throws IOException {
    Outcome outcome = runAgent("run", "listen = 127.0.0.1:7443\nstate_dir = var/lib/ferry\n");
    assertEquals(2, outcome.exitCode());
    assertTrue(outcome.err().contains("bad value for 'state_dir': 'var/lib/ferry' is not an absolute path"), outcome.err());
    assertFalse(Files.exists(dir.resolve("var")));
  }

  @Test
  void missingConfigFileIsNamed() {
    StringWriter err = new StringWriter();
    var cli = AgentMain.commandLine();
    cli.setErr(new PrintWriter(err, true));
    Path missing = dir.resolve("nowhere/agent.conf");
    assertEquals(2, cli.execute("run", "--config", missing.toString()));
    assertTrue(err.toString().contains("cannot read config " + missing), err.toString());
  }

  @Test
  void goodConfigPassesTheSameCheck() throws IOException {
    // The counterpart: the same harness with a valid config gets past the config check
    // (init succeeds and prints a fingerprint), so the refusals above are about the values.
    Outcome outcome = runAgent("init", "listen = 127.0.0.1:7443\nlayout = none\n");
    assertEquals(0, outcome.exitCode(), outcome.err());
    assertTrue(outcome.out().contains("fingerprint:"), outcome.out());
    assertTrue(Files.isDirectory(dir.resolve("state")));
  }
}
