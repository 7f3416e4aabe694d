package dev.ferry.controller.migration;

/**
 * One preflight check.
 *
 * @param passed false means the migration must not start
 * @param detail what was found
 * @param fix how to fix it, when it failed (or what to know, for a warning)
 * @param warning true for something worth knowing that does not block
 */
public record Check(String name, boolean passed, String detail, String fix, boolean warning) {
  public static Check pass(String name, String detail) {
    return new Check(name, true, detail, "", false);
  }

  public static Check fail(String name, String detail, String fix) {
    return new Check(name, false, detail, fix, false);
  }

  public static Check warn(String name, String detail, String note) {
    return new Check(name, true, detail, note, true);
  }
}
