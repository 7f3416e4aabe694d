package dev.ferry.controller.migration;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What a migration asks of the two agents. The {@code client} package implements it over gRPC;
 * tests may implement it with fakes. Every operation is idempotent, so a resumed migration can
 * simply run an interrupted step again.
 */
public interface MigrationOps extends AutoCloseable {
  HostFacts facts(Side side) throws Exception;

  /** Checks only the agents can make (the database copy's own preflight), beyond {@link Preflight}. */
  default List<Check> extraChecks() throws Exception {
    return List.of();
  }

  /** Pulls media from the source onto the target; only what differs is sent. */
  StepResult syncMedia(boolean excludeCache, Consumer<String> progress) throws Exception;

  /** Stops the side's Mastodon units and waits until they are inactive. */
  StepResult stopServices(Side side) throws Exception;

  /** Starts the side's Mastodon units and waits until they are active. */
  StepResult startServices(Side side) throws Exception;

  StepResult copySecrets() throws Exception;

  /** The streamed, verified database copy with its swap. */
  StepResult copyDatabase(Consumer<String> progress) throws Exception;

  /**
   * Whether the target's database already holds the stopped source's rows and sequences. Asked
   * before the first copy attempt (the answer is journaled), and when resuming a database step
   * that had started: then, if the target did not match before, the interrupted attempt already
   * swapped a complete copy in, and running the copy again would set that copy aside as a second
   * "old" database and report it as the target's old data. Empty if they differ.
   */
  default Optional<StepResult> databaseAlreadyCopied() throws Exception {
    return Optional.empty();
  }

  StepResult copyRedis() throws Exception;

  /** Runs an allowlisted tootctl command on a side; output lines go to {@code output}. */
  StepResult tootctl(Side side, List<String> args, Consumer<String> output) throws Exception;

  /** Checks the target's web service locally: /health, and /api/v1/instance's domain. */
  StepResult smokeTest(String expectedDomain) throws Exception;

  /** Closes connections; never fails. */
  @Override
  default void close() {}
}
