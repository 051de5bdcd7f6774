#!/usr/bin/env bash
# GitOps: point one environment of the config repository (the one ArgoCD watches) at an image tag.
#
#   bump-image-tags.sh CONFIG_CHECKOUT ENVIRONMENT TAG [SOURCE]
#
# CONFIG_CHECKOUT is a clone of the config repository whose `origin` can be pushed to (the
# workflow checks it out with the CONFIG_REPO_TOKEN secret, never with the GITHUB_TOKEN).
# ENVIRONMENT is `staging` or `production`; the file is environments/ENVIRONMENT/values.yaml and
# the keys are `image.tag` (the Serve image; its GPU and CPU variants share the tag) and
# `portal.image.tag`. TAG must be an immutable tag the image workflow pushed (`sha-<7 hex>`, the
# full commit SHA, or a semver). SOURCE (e.g. owner/repo@sha) goes into the commit message.
#
# Safe to run concurrently with other writers: each attempt starts from the remote branch's head,
# re-applies the edit with yq (mikefarah yq v4, on GitHub's Ubuntu runners; it keeps the file's
# comments and layout) and pushes; a rejected push is retried. No change, no commit.
set -euo pipefail

die() { echo "::error::$*" >&2; exit 1; }

[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: $0 CONFIG_CHECKOUT ENVIRONMENT TAG [SOURCE]"
dir=$1 environment=$2 tag=$3 source=${4:-}
yq=${YQ:-yq}

[[ $environment =~ ^(staging|production)$ ]] || die "unknown environment: $environment"
# Docker's tag grammar, and never a mutable tag
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "not an image tag: $tag"
[[ $tag != latest && $tag != main ]] || die "refusing the mutable tag $tag"

file=environments/$environment/values.yaml
cd "$dir"
[ -f "$file" ] || die "$file is missing in the config repository"
branch=$(git rev-parse --abbrev-ref HEAD)
git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"

for attempt in 1 2 3 4 5; do
  git fetch --quiet origin "$branch"
  git reset --quiet --hard "origin/$branch"
  TAG=$tag "$yq" -i '.image.tag = strenv(TAG) | .portal.image.tag = strenv(TAG)' "$file"
  [ "$("$yq" '.image.tag' "$file")" = "$tag" ] || die "image.tag was not set in $file"
  [ "$("$yq" '.portal.image.tag' "$file")" = "$tag" ] || die "portal.image.tag was not set in $file"
  if git diff --quiet -- "$file"; then
    echo "$environment already runs $tag: nothing to commit"
    exit 0
  fi
  git add -- "$file"
  git commit --quiet -m "$environment: IAS images $tag" ${source:+-m "From $source"}
  if git push --quiet origin "HEAD:$branch"; then
    echo "$environment -> $tag ($(git rev-parse --short HEAD) on $branch)"
    exit 0
  fi
  echo "push rejected (attempt $attempt), retrying on the new head" >&2
  sleep $((attempt * 2))
done
die "could not push to the config repository after 5 attempts"
