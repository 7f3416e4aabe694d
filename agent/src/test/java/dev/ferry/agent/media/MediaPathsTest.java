package dev.ferry.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MediaPathsTest {
  @Test
  void acceptsPlainRelativePaths() throws Exception {
    for (String ok : new String[] {"a", "a/b", "cache/accounts/avatars/000/001/original/x.png", ".hidden", "a/.b", "a/..b",
        "a/b..", "...", "a/.../b", "-", "a b/c"}) {
      assertEquals(ok, MediaPaths.check(ok));
    }
  }

  @Test
  void refusesEverythingThatCouldLeaveOrBlurTheRoot() {
    for (String bad : new String[] {"", "/", "/a", "a/", "a//b", "//a", ".", "..", "./a", "a/.", "a/./b", "../a", "a/..",
        "a/../b", "a\\b", "..\\a", "a\0b"}) {
      MediaException e = assertThrows(MediaException.class, () -> MediaPaths.check(bad), bad);
      assertEquals(MediaException.Reason.INVALID_ARGUMENT, e.reason(), bad);
      assertTrue(e.getMessage().startsWith("refused path"), e.getMessage());
    }
  }

  @Test
  void namesTheOffendingComponent() {
    MediaException e = assertThrows(MediaException.class, () -> MediaPaths.check("media/../../etc/passwd"));
    assertTrue(e.getMessage().contains("'..' component"), e.getMessage());
  }

  /** The single-pass check refuses exactly what splitting on '/' and looking at each part does. */
  @Test
  void agreesWithTheSplittingRuleOnRandomPaths() {
    Random random = new Random(7);
    char[] alphabet = {'a', '.', '/', 'b', '.', '/', '\\', '\0', 'x'};
    int refused = 0;
    for (int n = 0; n < 50_000; n++) {
      StringBuilder b = new StringBuilder();
      for (int i = random.nextInt(9); i > 0; i--) {
        b.append(alphabet[random.nextInt(alphabet.length)]);
      }
      String path = b.toString();
      boolean expected = splittingRuleAccepts(path);
      boolean actual;
      try {
        MediaPaths.check(path);
        actual = true;
      } catch (MediaException e) {
        actual = false;
        refused++;
      }
      assertEquals(expected, actual, "'" + path.replace("\0", "\\0") + "'");
    }
    assertTrue(refused > 2_500 && refused < 47_500, "both outcomes were exercised: " + refused);
  }

  private static boolean splittingRuleAccepts(String path) {
    if (path.isEmpty() || path.startsWith("/") || path.indexOf('\0') >= 0 || path.indexOf('\\') >= 0) {
      return false;
    }
    for (String part : path.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        return false;
      }
    }
    return true;
  }
}
