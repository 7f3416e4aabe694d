{
  description = "ferry: move a self-hosted Mastodon server from one host to another";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      # nix build .#ferry  (first build: see nix/package.nix for the Maven dependency hash)
      packages = forAllSystems (pkgs: rec {
        ferry = pkgs.callPackage ./nix/package.nix { };
        default = ferry;
      });

      overlays.default = final: _prev: { ferry = final.callPackage ./nix/package.nix { }; };

      # imports = [ ferry.nixosModules.ferry-agent ]; then services.ferry-agent.* (README: Install).
      nixosModules.ferry-agent = { lib, pkgs, ... }: {
        imports = [ ./systemd/nixos/ferry-agent.nix ];
        services.ferry-agent.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.ferry;
      };
      nixosModules.default = self.nixosModules.ferry-agent;
    };
}
