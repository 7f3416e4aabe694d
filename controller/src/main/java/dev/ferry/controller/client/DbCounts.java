package dev.ferry.controller.client;

import java.util.List;
import java.util.Map;

/**
 * One database's row count per table and value per sequence (names are quoted identifiers), the
 * same figures the copy verifies: two databases with equal counts hold the same data as far as
 * ferry can tell.
 */
public record DbCounts(Map<String, Long> tableRows, Map<String, Long> sequenceValues, List<String> unusedSequences) {
  public DbCounts {
    tableRows = Map.copyOf(tableRows);
    sequenceValues = Map.copyOf(sequenceValues);
    unusedSequences = unusedSequences.stream().sorted().toList();
  }
}
