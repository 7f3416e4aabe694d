package dev.ferry.controller.cli;

import dev.ferry.controller.client.AgentException;
import dev.ferry.controller.client.HostClient;
import dev.ferry.controller.home.ControllerHome;
import dev.ferry.controller.home.PairedHost;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ferry tootctl NAME -- ARGS...}. */
@Command(
    name = "tootctl",
    mixinStandardHelpOptions = true,
    description = {
      "Run an allowlisted tootctl subcommand on a paired host (feeds build, media refresh,",
      "accounts refresh, search deploy, cache clear, media usage), streaming its output live.",
      "Exits with tootctl's exit code; 2 if the command is not allowed."
    })
public final class TootctlCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "NAME", description = "The paired host.")
  String name;

  @Parameters(index = "1..*", paramLabel = "ARGS", arity = "1..*", description = "tootctl's arguments, after --.")
  List<String> args = new ArrayList<>();

  @Spec CommandLine.Model.CommandSpec spec;

  private final ControllerHome home;

  public TootctlCommand(ControllerHome home) {
    this.home = home;
  }

  @Override
  public Integer call() throws Exception {
    PairedHost host = home.requireHost(name);
    try (HostClient client = HostClient.connect(host, home.identity())) {
      Utf8Stream out = new Utf8Stream(spec.commandLine().getOut());
      Utf8Stream err = new Utf8Stream(spec.commandLine().getErr());
      return client.tootctl(args, new HostClient.TootctlOutput() {
        @Override
        public void stdout(byte[] data) {
          out.write(data);
        }

        @Override
        public void stderr(byte[] data) {
          err.write(data);
        }
      });
    } catch (AgentException e) {
      spec.commandLine().getErr().println("ferry: " + host.name() + ": " + e.getMessage());
      spec.commandLine().getErr().flush();
      return e.code().equals("PERMISSION_DENIED") ? ExitCodes.USAGE : ExitCodes.FAILED;
    }
  }

  /** Decodes chunks as UTF-8 without breaking a character split across two chunks. */
  private static final class Utf8Stream {
    private final PrintWriter writer;
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(0);

    Utf8Stream(PrintWriter writer) {
      this.writer = writer;
    }

    void write(byte[] data) {
      ByteBuffer in = ByteBuffer.allocate(pending.remaining() + data.length);
      in.put(pending).put(data).flip();
      CharBuffer chars = CharBuffer.allocate(in.remaining() + 1);
      decoder.decode(in, chars, false);
      pending = in.slice();
      writer.write(chars.flip().toString());
      writer.flush();
    }
  }
}
