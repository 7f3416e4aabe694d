# ferry (agent and controller) built from this repository with Maven.
#
# mvnHash pins every Maven dependency (a fixed-output derivation). It cannot be computed
# without network access to Maven Central, so it starts as lib.fakeHash. On the first build,
#   nix build .#ferry
# fails with "hash mismatch in fixed-output derivation ... got: sha256-..."; put that value
# here and build again. Recompute it whenever a version in pom.xml changes.
{
  lib,
  maven,
  jdk17_headless,
  makeWrapper,
  protobuf_25,
  protoc-gen-grpc-java,
}:

let
  # The full headless JDK as the runtime: a jlinked minimal JRE would need the exact module
  # list (TLS with EC keys, logging, netty's jdk.unsupported), and a missing one only shows at
  # run time.
  jre = jdk17_headless;
  version = "0.1.0";
in
maven.buildMavenPackage {
  pname = "ferry";
  inherit version;

  src = lib.cleanSourceWith {
    src = ../.;
    # Build outputs and caches of a developer checkout must not change the hash of the source.
    filter = path: type: !(lib.elem (baseNameOf path) [ "target" ".ferry-cache" "result" ".git" ]);
  };

  mvnHash = lib.fakeHash;
  mvnJdk = jdk17_headless;

  # Only the two shaded jars: the packaging module (the .deb) is for Debian and Ubuntu.
  # protoc and the gRPC plugin that Maven would download are generic Linux binaries that do not
  # run in the Nix sandbox; use nixpkgs' builds (same protobuf major as the pom).
  # (A plain string: the builder expands it unquoted, so no shell quoting inside.)
  mvnParameters = lib.concatStringsSep " " [
    "-pl agent,controller -am"
    "-DskipTests"
    "-DprotocExecutable=${protobuf_25}/bin/protoc"
    "-DprotocPluginExecutable=${protoc-gen-grpc-java}/bin/protoc-gen-grpc-java"
  ];
  # The tests need root, PostgreSQL and systemd-nspawn; they run in this repository's CI.
  doCheck = false;

  nativeBuildInputs = [ makeWrapper ];

  installPhase = ''
    runHook preInstall
    install -Dm644 agent/target/ferry-agent-${version}-all.jar $out/share/ferry/ferry-agent.jar
    install -Dm644 controller/target/ferry-controller-${version}-all.jar $out/share/ferry/ferry-controller.jar
    install -Dm644 systemd/agent.conf.example $out/share/doc/ferry/agent.conf.example
    # Same defaults as bin/ferry-agent and bin/ferry; FERRY_JAVA_OPTS replaces them.
    makeWrapper ${jre}/bin/java $out/bin/ferry-agent \
      --set-default MALLOC_ARENA_MAX 2 \
      --run 'set -- ''${FERRY_JAVA_OPTS:--Xms56m -Xmx192m -Xmn40m -XX:SurvivorRatio=4 -XX:MinHeapFreeRatio=40 -XX:MaxHeapFreeRatio=70 -XX:MaxDirectMemorySize=32m -XX:+UseSerialGC -XX:ReservedCodeCacheSize=48m -XX:FreqInlineSize=50 -XX:InlineSmallCode=500 -XX:MaxInlineLevel=5 -XX:+ExitOnOutOfMemoryError} -jar '"$out"'/share/ferry/ferry-agent.jar "$@"'
    makeWrapper ${jre}/bin/java $out/bin/ferry \
      --run 'set -- ''${FERRY_JAVA_OPTS:--Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} -jar '"$out"'/share/ferry/ferry-controller.jar "$@"'
    runHook postInstall
  '';

  meta = {
    description = "Move a self-hosted Mastodon server from one host to another (agent and controller)";
    mainProgram = "ferry";
    platforms = lib.platforms.linux;
  };
}
