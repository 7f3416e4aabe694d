package dev.ferry.controller.migration;

/** Compares dotted version strings like "4.3.2" and "4.3.10" (suffixes like "-rc1" sort first). */
final class Versions {
  private Versions() {}

  static int compare(String a, String b) {
    String[] x = a.split("[.-]");
    String[] y = b.split("[.-]");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      String p = i < x.length ? x[i] : "0";
      String q = i < y.length ? y[i] : "0";
      boolean pn = p.matches("\\d+");
      boolean qn = q.matches("\\d+");
      int c;
      if (pn && qn) {
        c = Long.compare(Long.parseLong(p), Long.parseLong(q));
      } else if (pn != qn) {
        c = pn ? 1 : -1;
      } else {
        c = p.compareTo(q);
      }
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }
}
