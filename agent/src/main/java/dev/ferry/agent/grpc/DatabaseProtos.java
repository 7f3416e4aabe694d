package dev.ferry.agent.grpc;

import dev.ferry.agent.postgres.CopyOptions;
import dev.ferry.agent.postgres.CopyProgress;
import dev.ferry.agent.postgres.CopySummary;
import dev.ferry.agent.postgres.DatabaseCounts;
import dev.ferry.agent.postgres.DatabaseFacts;
import dev.ferry.agent.postgres.Problem;
import dev.ferry.proto.v1.PreflightProblem;
import java.util.HashSet;

/** Maps the postgres package's records to and from ferry.v1.DatabaseService messages. */
final class DatabaseProtos {
  private DatabaseProtos() {}

  static dev.ferry.proto.v1.DatabaseFacts toProto(DatabaseFacts f) {
    return dev.ferry.proto.v1.DatabaseFacts.newBuilder()
        .setDatabaseName(f.databaseName())
        .setRole(f.role())
        .setSuperuser(f.superuser())
        .setDataDirectory(f.dataDirectory())
        .setServerVersion(f.serverVersion())
        .setPgDumpVersion(f.pgDumpVersion())
        .setPgRestoreVersion(f.pgRestoreVersion())
        .setDatabaseExists(f.databaseExists())
        .setDatabaseSizeBytes(f.databaseSizeBytes())
        .setEncoding(f.encoding())
        .setRoleExists(f.roleExists())
        .setOsUserExists(f.osUserExists())
        .addAllGrantees(f.grantees())
        .setTableCount(f.tableCount())
        .setDataFreeBytes(f.dataFreeBytes())
        .setSpoolFreeBytes(f.spoolFreeBytes())
        .setSpoolOnDataFilesystem(f.spoolOnDataFilesystem())
        .setStagingExists(f.stagingExists())
        .setStagingName(f.stagingName())
        .setSystemdRunning(f.systemdRunning())
        .addAllActiveUnits(f.activeUnits())
        .addAllErrors(f.errors())
        .build();
  }

  static DatabaseFacts fromProto(dev.ferry.proto.v1.DatabaseFacts f) {
    return new DatabaseFacts(
        f.getDatabaseName(), f.getRole(), f.getSuperuser(), f.getDataDirectory(), f.getServerVersion(),
        f.getPgDumpVersion(), f.getPgRestoreVersion(), f.getDatabaseExists(), f.getDatabaseSizeBytes(),
        f.getEncoding(), f.getRoleExists(), f.getOsUserExists(), f.getGranteesList(), f.getTableCount(),
        f.getDataFreeBytes(), f.getSpoolFreeBytes(), f.getSpoolOnDataFilesystem(), f.getStagingExists(),
        f.getStagingName(), f.getSystemdRunning(), f.getActiveUnitsList(), f.getErrorsList());
  }

  static dev.ferry.proto.v1.DatabaseCounts toProto(DatabaseCounts c) {
    return dev.ferry.proto.v1.DatabaseCounts.newBuilder()
        .putAllTableRows(c.tableRows())
        .putAllSequenceValues(c.sequenceValues())
        .addAllUnusedSequences(c.unusedSequences().stream().sorted().toList())
        .build();
  }

  static DatabaseCounts fromProto(dev.ferry.proto.v1.DatabaseCounts c) {
    return new DatabaseCounts(c.getTableRowsMap(), c.getSequenceValuesMap(), new HashSet<>(c.getUnusedSequencesList()));
  }

  static CopyOptions fromProto(dev.ferry.proto.v1.CopyOptions o) {
    return new CopyOptions(o.getJobs(), o.getYes());
  }

  static PreflightProblem toProto(Problem p) {
    return PreflightProblem.newBuilder()
        .setSeverity(
            switch (p.severity()) {
              case WARNING -> PreflightProblem.Severity.SEVERITY_WARNING;
              case NEEDS_CONFIRMATION -> PreflightProblem.Severity.SEVERITY_NEEDS_CONFIRMATION;
              case REFUSAL -> PreflightProblem.Severity.SEVERITY_REFUSAL;
            })
        .setSide(p.side())
        .setCode(p.code())
        .setMessage(p.message())
        .build();
  }

  static dev.ferry.proto.v1.CopyProgress toProto(CopyProgress p) {
    return dev.ferry.proto.v1.CopyProgress.newBuilder()
        .setPhase(dev.ferry.proto.v1.CopyProgress.Phase.valueOf("PHASE_" + p.phase().name()))
        .setBytesStreamed(p.bytesStreamed())
        .setTablesRestored(p.tablesRestored())
        .setTablesTotal(p.tablesTotal())
        .setNote(p.note())
        .build();
  }

  static dev.ferry.proto.v1.CopySummary toProto(CopySummary s) {
    return dev.ferry.proto.v1.CopySummary.newBuilder()
        .setDatabaseName(s.databaseName())
        .setRenamedAsideTo(s.renamedAsideTo().orElse(""))
        .setBytesStreamed(s.bytesStreamed())
        .setTablesVerified(s.tablesVerified())
        .setRowsVerified(s.rowsVerified())
        .setSequencesVerified(s.sequencesVerified())
        .setStreamMillis(s.streamMillis())
        .setRestoreMillis(s.restoreMillis())
        .setVerifyMillis(s.verifyMillis())
        .setSwapMillis(s.swapMillis())
        .setTotalMillis(s.totalMillis())
        .setJobs(s.jobs())
        .setRemovedLeftoverStaging(s.removedLeftoverStaging())
        .setDropHint(s.dropHint())
        .addAllWarnings(s.warnings().stream().map(DatabaseProtos::toProto).toList())
        .build();
  }
}
