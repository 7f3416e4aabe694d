package dev.ferry.agent.postgres;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Row counts of every table and materialized view and the value of every sequence, keyed by
 * quoted {@code schema.name}. Two databases with equal counts are what a copy is verified by.
 *
 * @param sequenceValues last_value of each sequence that was used
 * @param unusedSequences sequences nextval never ran on (no value to compare)
 */
public record DatabaseCounts(
    Map<String, Long> tableRows, Map<String, Long> sequenceValues, Set<String> unusedSequences) {

  public DatabaseCounts {
    tableRows = Map.copyOf(tableRows);
    sequenceValues = Map.copyOf(sequenceValues);
    unusedSequences = Set.copyOf(unusedSequences);
  }

  public long totalRows() {
    return tableRows.values().stream().mapToLong(Long::longValue).sum();
  }

  public int sequenceCount() {
    return sequenceValues.size() + unusedSequences.size();
  }

  /**
   * What differs from {@code other}, one line each ("public.accounts: 10 rows here, 9 there"),
   * in name order; empty when they are equal.
   */
  public List<String> differences(DatabaseCounts other, String here, String there) {
    List<String> lines = new ArrayList<>();
    Set<String> tables = new TreeSet<>(tableRows.keySet());
    tables.addAll(other.tableRows.keySet());
    for (String table : tables) {
      Long a = tableRows.get(table);
      Long b = other.tableRows.get(table);
      if (!Objects.equals(a, b)) {
        lines.add("table " + table + ": " + rows(a) + " on the " + here + ", " + rows(b) + " on the " + there);
      }
    }
    Map<String, String> mine = sequenceStates();
    Map<String, String> theirs = other.sequenceStates();
    Set<String> sequences = new TreeSet<>(mine.keySet());
    sequences.addAll(theirs.keySet());
    for (String sequence : sequences) {
      String a = mine.getOrDefault(sequence, "missing");
      String b = theirs.getOrDefault(sequence, "missing");
      if (!a.equals(b)) {
        lines.add("sequence " + sequence + ": " + a + " on the " + here + ", " + b + " on the " + there);
      }
    }
    return lines;
  }

  private Map<String, String> sequenceStates() {
    Map<String, String> states = new TreeMap<>();
    sequenceValues.forEach((name, value) -> states.put(name, "at " + value));
    unusedSequences.forEach(name -> states.put(name, "never used"));
    return states;
  }

  private static String rows(Long n) {
    return n == null ? "missing" : n + " rows";
  }
}
