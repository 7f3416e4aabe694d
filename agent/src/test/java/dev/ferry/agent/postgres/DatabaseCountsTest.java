package dev.ferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DatabaseCountsTest {
  @Test
  void equalCountsHaveNoDifferences() {
    DatabaseCounts a = new DatabaseCounts(Map.of("public.accounts", 3L), Map.of("public.accounts_id_seq", 5000L), Set.of("public.x"));
    DatabaseCounts b = new DatabaseCounts(Map.of("public.accounts", 3L), Map.of("public.accounts_id_seq", 5000L), Set.of("public.x"));
    assertEquals(List.of(), a.differences(b, "source", "target"));
    assertEquals(3, a.totalRows());
    assertEquals(2, a.sequenceCount());
  }

  @Test
  void everyDifferenceIsNamed() {
    DatabaseCounts source =
        new DatabaseCounts(Map.of("public.accounts", 3L, "public.\"Mixed\"", 1L), Map.of("public.s", 10L), Set.of("public.u"));
    DatabaseCounts target = new DatabaseCounts(Map.of("public.accounts", 2L), Map.of("public.s", 9L, "public.u", 1L), Set.of());
    assertEquals(
        List.of(
            "table public.\"Mixed\": 1 rows on the source, missing on the target",
            "table public.accounts: 3 rows on the source, 2 rows on the target",
            "sequence public.s: at 10 on the source, at 9 on the target",
            "sequence public.u: never used on the source, at 1 on the target"),
        source.differences(target, "source", "target"));
  }
}
