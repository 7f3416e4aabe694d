package dev.ferry.controller.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the fault-injection classes leave their result tables: the test output and a file. */
public final class FaultTables {
  private FaultTables() {}

  /** Prints {@code table} and writes it to target/{@code fileName}, so a CI run keeps it. */
  public static void publish(CharSequence table, String fileName) {
    System.out.println(table);
    try {
      Path report = Path.of(System.getProperty("user.dir"), "target", fileName);
      Files.createDirectories(report.getParent());
      Files.writeString(report, table);
    } catch (IOException e) {
      System.out.println("could not write the table: " + e.getMessage());
    }
  }
}
