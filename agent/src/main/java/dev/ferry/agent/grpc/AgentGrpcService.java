package dev.ferry.agent.grpc;

import com.google.protobuf.ByteString;
import dev.ferry.agent.auth.Authenticator;
import dev.ferry.agent.status.StatusCollector;
import dev.ferry.agent.web.WebProbe;
import dev.ferry.proto.v1.AgentServiceGrpc;
import dev.ferry.proto.v1.CheckWebRequest;
import dev.ferry.proto.v1.CheckWebResponse;
import dev.ferry.proto.v1.GetStatusRequest;
import dev.ferry.proto.v1.GetStatusResponse;
import dev.ferry.proto.v1.PairRequest;
import dev.ferry.proto.v1.PairResponse;
import dev.ferry.proto.v1.RedeemTicketRequest;
import dev.ferry.proto.v1.RedeemTicketResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/** Pairing, status and tickets: a thin adapter over {@link Authenticator} and {@link StatusCollector}. */
final class AgentGrpcService extends AgentServiceGrpc.AgentServiceImplBase {
  private final Authenticator authenticator;
  private final StatusCollector status;
  private final String agentVersion;
  private final WebProbe web;

  AgentGrpcService(Authenticator authenticator, StatusCollector status, String agentVersion, WebProbe web) {
    this.authenticator = authenticator;
    this.status = status;
    this.agentVersion = agentVersion;
    this.web = web;
  }

  @Override
  public void pair(PairRequest request, StreamObserver<PairResponse> responses) {
    if (request.getProof().size() != 32) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription("the pairing proof must be 32 bytes").asException());
      return;
    }
    String name = request.getControllerName().isBlank() ? "controller" : request.getControllerName();
    if (name.length() > 100 || !name.matches("[\\p{Alnum} ._@-]+")) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription("the controller name must be plain text").asException());
      return;
    }
    try {
      byte[] proof =
          authenticator.pair(AuthInterceptor.PEER_CERTIFICATE.get(), name, request.getProof().toByteArray());
      responses.onNext(
          PairResponse.newBuilder()
              .setProof(ByteString.copyFrom(proof))
              .setHostname(StatusCollector.hostname())
              .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<GetStatusResponse> responses) {
    try {
      responses.onNext(
          GetStatusResponse.newBuilder()
              .setStatus(HostStatusProtos.toProto(status.collectShared(), authenticator.fingerprint(), agentVersion))
              .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void checkWeb(CheckWebRequest request, StreamObserver<CheckWebResponse> responses) {
    if (request.getExpectedDomain().isBlank()) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription("expected_domain is required").asException());
      return;
    }
    int wait = request.getWaitSeconds() <= 0 ? 60 : Math.min(request.getWaitSeconds(), 600);
    try {
      WebProbe.Outcome outcome = web.check(request.getExpectedDomain(), java.time.Duration.ofSeconds(wait));
      responses.onNext(
          CheckWebResponse.newBuilder()
              .setHealthOk(outcome.healthOk())
              .setInstanceDomain(outcome.instanceDomain())
              .setPassed(outcome.passed())
              .setDetail(outcome.detail())
              .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }

  @Override
  public void redeemTicket(RedeemTicketRequest request, StreamObserver<RedeemTicketResponse> responses) {
    if (!request.hasTicket()) {
      responses.onError(Status.INVALID_ARGUMENT.withDescription("no ticket").asException());
      return;
    }
    try {
      Authenticator.Redeemed redeemed =
          authenticator.redeem(request.getTicket(), AuthInterceptor.CALLER.get().fingerprint());
      responses.onNext(
          RedeemTicketResponse.newBuilder()
              .setSessionToken(redeemed.token())
              .setExpiresAtUnixMillis(redeemed.session().expiresAtMillis())
              .build());
      responses.onCompleted();
    } catch (Exception e) {
      responses.onError(Statuses.toStatus(e));
    }
  }
}
