package dev.ferry.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.controller.testing.TestController;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Help texts and exit codes of the CLI, without any agent. */
class CommandLineTest {
  @TempDir Path dir;

  @Test
  void everyCommandHasHelp() {
    TestController controller = new TestController(dir);
    TestController.Run root = controller.run("--help");
    assertEquals(0, root.exitCode());
    assertTrue(root.out().contains("Move a self-hosted Mastodon server"), root.out());
    assertTrue(root.out().contains("Exit codes"), root.out());
    var commands = dev.ferry.controller.FerryCli.commandLine(controller.home()).getSubcommands();
    for (String name : commands.keySet()) {
      if (name.equals("help")) {
        continue;
      }
      TestController.Run help = controller.run(name, "--help");
      assertEquals(0, help.exitCode(), name);
      assertTrue(help.out().startsWith("Usage: ferry " + name), name + ": " + help.out());
      // Every option and parameter is described.
      for (var option : commands.get(name).getCommandSpec().options()) {
        assertTrue(option.description().length > 0 && !option.description()[0].isBlank(), name + " " + option.longestName());
      }
    }
  }

  /** main() builds only the named subcommand's tree: what it prints must not change. */
  @Test
  void oneCommandsTreeBehavesAsTheWholeTree() {
    TestController controller = new TestController(dir);
    assertEquals(
        java.util.Set.of("media"), dev.ferry.controller.FerryCli.forArguments(controller.home(), "media", "sync").getSubcommands().keySet());
    var all = dev.ferry.controller.FerryCli.commandLine(controller.home()).getSubcommands().keySet();
    for (String[] whole : new String[][] {{}, {"--help"}, {"help", "media"}, {"medai", "sync"}, {"--version"}}) {
      assertEquals(all, dev.ferry.controller.FerryCli.forArguments(controller.home(), whole).getSubcommands().keySet());
    }
    for (var entry : dev.ferry.controller.FerryCli.commandLine(controller.home()).getSubcommands().entrySet()) {
      java.util.List<String[]> runs = new java.util.ArrayList<>();
      runs.add(new String[] {entry.getKey(), "--help"});
      runs.add(new String[] {entry.getKey(), "--no-such-option"});
      for (String sub : entry.getValue().getSubcommands().keySet()) {
        runs.add(new String[] {entry.getKey(), sub, "--help"});
      }
      for (String[] args : runs) {
        TestController.Run one = controller.run(args);
        TestController.Run whole = controller.runWithWholeTree(args);
        String what = String.join(" ", args);
        assertEquals(whole.exitCode(), one.exitCode(), what);
        assertEquals(whole.out(), one.out(), what);
        assertEquals(whole.err(), one.err(), what);
      }
    }
  }

  @Test
  void usageErrorsExitWithTwo() {
    TestController controller = new TestController(dir);
    assertEquals(2, controller.run().exitCode());
    assertEquals(2, controller.run("no-such-command").exitCode());
    assertEquals(2, controller.run("pair", "only-a-name").exitCode());
    assertEquals(2, controller.run("pair", "bad name!", "127.0.0.1:1", "--code", "x").exitCode());
    for (String[] command : new String[][] {{"plan"}, {"migrate"}, {"rollback"}, {"media", "sync"}, {"db", "copy"},
        {"secrets", "copy"}, {"redis", "copy"}}) {
      java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(command));
      args.addAll(java.util.List.of("--from", "a", "--to", "a"));
      TestController.Run same = controller.run(args.toArray(String[]::new));
      assertEquals(2, same.exitCode(), String.join(" ", args));
      assertTrue(same.err().contains("--from and --to must name two different hosts"), same.err());
    }
    TestController.Run unknown = controller.run("status", "nobody");
    assertEquals(2, unknown.exitCode());
    assertTrue(unknown.err().contains("no paired host called 'nobody'"), unknown.err());
  }
}
