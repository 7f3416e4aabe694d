#!/bin/sh
# Stand-in for the NixOS module's mastodon-init-dirs script (nixpkgs
# nixos/modules/services/web-apps/mastodon.nix): for every secret file that does not exist it
# GENERATES a new value (this is the hazard ferry avoids by writing the secrets first), then
# rewrites /var/lib/mastodon/.secrets_env from the files.
set -eu
umask 077
dir=/var/lib/mastodon/secrets
mkdir -p "$dir"
for name in secret-key-base vapid-private-key vapid-public-key \
            active-record-encryption-deterministic-key active-record-encryption-key-derivation-salt \
            active-record-encryption-primary-key; do
  [ -f "$dir/$name" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/$name"
done
{
  echo "SECRET_KEY_BASE=\"$(cat $dir/secret-key-base)\""
  echo "VAPID_PRIVATE_KEY=\"$(cat $dir/vapid-private-key)\""
  echo "VAPID_PUBLIC_KEY=\"$(cat $dir/vapid-public-key)\""
  echo "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY=\"$(cat $dir/active-record-encryption-deterministic-key)\""
  echo "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT=\"$(cat $dir/active-record-encryption-key-derivation-salt)\""
  echo "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY=\"$(cat $dir/active-record-encryption-primary-key)\""
  [ -f "$dir/otp-secret" ] && echo "OTP_SECRET=\"$(cat $dir/otp-secret)\""
} > /var/lib/mastodon/.secrets_env
chown mastodon:mastodon /var/lib/mastodon/.secrets_env
